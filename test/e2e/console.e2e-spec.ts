import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskDto, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { auditA11y, overflowX } from '../support/a11y';
import { holdImage } from '../support/hold-image';
import { Suite } from '../support/suite';

/** Screenshots of the main views, kept as test artefacts (CI keeps tmp/). */
const SHOTS = join(__dirname, '../../tmp/console-screenshots');
/** The narrowest window the console is checked at: a small laptop's, with room to spare. */
const NARROW = { width: 1024, height: 700 };

/**
 * Opens a view, waits for its heading (and `ready`, what shows its data), and checks it: no WCAG 2.1
 * A/AA rule broken (axe-core), nothing wider than the window. Keeps a screenshot.
 */
async function checkView(page: Page, url: string, view: string, ready?: () => Promise<void>): Promise<void> {
  await page.goto(`${url}/#/${view}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await ready?.();
  expect({ view, findings: await auditA11y(page) }).toEqual({ view, findings: [] });
  expect({ view, overflow: await overflowX(page) }).toEqual({ view, overflow: 0 });
  await page.screenshot({ path: join(SHOTS, `narrow-${view}.png`), fullPage: true });
}

/** Debian's chromium, as tools/ensure-infra.sh installs it; playwright-core downloads no browser. */
const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

/**
 * The web console in a real browser against the real suite (issue 19): sign in with a key, make a
 * template and a VM and start it, run a test failover, press cleanup, confirm, watch the progress bar
 * move through the steps to the success notification; a cleanup that fails (an image held by another
 * process) shows its report and a resume button; a viewer sees no cleanup button.
 */
describe('web console (Playwright, Debian chromium)', () => {
  let suite: Suite;
  let browser: Browser;
  const template = randomName('tpl');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    suite = await Suite.start(['vm-operator', 'volume-daemon', 'cleanup', 'observer', 'gateway']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Root in a container: Chromium's sandbox needs user namespaces it may not get.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
      timeout: 60_000,
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await suite?.dispose();
  });

  async function signIn(key: string, viewport = { width: 1366, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${suite.gatewayUrl}/`);
    // By keyboard: the key field is labelled, and Enter submits.
    await page.getByLabel('API key').fill(key);
    await page.getByLabel('API key').press('Enter');
    await page.getByTestId('connection').getByText('Live').waitFor();
    // No key in the page's storage: only the HttpOnly cookie holds the session.
    // (Browser-side code is passed as text: this project's types have no DOM.)
    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage, ...sessionStorage })');
    expect(stored).not.toContain(key);
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    return page;
  }

  /** `count` volumes named `<name>-disk<N>` attached to the appliance: a VM migrated there. */
  async function migratedVm(appliance: VmDto, count: number): Promise<{ name: string; disks: DiskDto[] }> {
    const name = randomName('src');
    const disks: DiskDto[] = [];
    for (let i = 0; i < count; i++) {
      const disk = (
        await suite.request<DiskDto>('POST', '/api/v1/disks', { body: { name: `${name}-disk${i}`, size: 1 } })
      ).body;
      const op = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${disk.id}/attach`, {
        body: { vmId: appliance.id },
      });
      expect(await suite.waitForOperation(op.body.id)).toMatchObject({ status: 'completed' });
      disks.push(disk);
    }
    return { name, disks };
  }

  const jobRow = (page: Page, vm: string) => page.getByTestId(`job-${vm}`);
  const jobStatus = (page: Page, vm: string, status: string) =>
    jobRow(page, vm)
      .getByTestId('job-status')
      .getByText(status, { exact: true })
      .waitFor({ timeout: 120_000 });

  async function startFailover(page: Page, vm: string): Promise<void> {
    await page.getByLabel('Source VM').fill(vm);
    await page.getByLabel('Template').fill(template);
    await page.getByRole('button', { name: 'Test failover' }).click();
    await jobStatus(page, vm, 'test_active');
  }

  /** Presses Cleanup, checks what the dialog says will happen, and confirms. */
  async function cleanUp(page: Page, vm: string, disks: DiskDto[]): Promise<void> {
    const button = jobRow(page, vm).getByRole('button', { name: 'Cleanup' });
    const dialog = page.getByRole('dialog');
    // By keyboard: Enter on the focused button opens the dialog, Escape closes it and nothing runs.
    await button.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await jobRow(page, vm).getByTestId('job-status').innerText()).not.toMatch(/cleanup/);
    await button.click();
    await dialog.waitFor();
    const said = await dialog.innerText();
    expect(said).toMatch(/powered off/);
    for (const d of disks) expect(said).toContain(d.name);
    expect(said).toContain(`appliance VM ${Suite.APPLIANCE}`);
    expect(said).toMatch(/is deleted/);
    expect(await auditA11y(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'failover-cleanup-dialog.png') });
    await dialog.getByRole('button', { name: 'Clean up' }).click();
  }

  it('signs in, makes a template and a VM and starts it, fails over and cleans up with live progress', async () => {
    const page = await signIn(suite.adminKey);
    await page.screenshot({ path: join(SHOTS, 'health.png') });

    // Template and VM (the appliance, which test failovers take volumes from), made in the browser.
    await page.goto(`${suite.gatewayUrl}/#/vms`);
    await page.getByLabel('Template name').fill(template);
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByLabel('Templates').getByText(template, { exact: true }).waitFor();
    await page.getByLabel('VM name').fill(Suite.APPLIANCE);
    await page.getByLabel('From template').fill(template);
    await page.getByRole('button', { name: 'Create VM' }).click();
    const row = page.getByTestId(`vm-${Suite.APPLIANCE}`);
    await row.getByRole('button', { name: 'Start' }).click();
    await row.getByText('running', { exact: true }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(SHOTS, 'vms.png') });
    const appliance = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body.find(
      (v) => v.name === Suite.APPLIANCE,
    )!;
    expect(appliance.state).toBe('running');

    const { name, disks } = await migratedVm(appliance, 2);
    // The appliance's row lists the disks attached to it meanwhile (disk.attached events).
    await row.getByText(disks.map((d) => d.name).join(', ')).waitFor();
    await page.goto(`${suite.gatewayUrl}/#/failover`);
    await startFailover(page, name);

    // Every value the cleanup's progress bar shows, as the browser renders it.
    await page.evaluate(`(() => {
      const seen = (window.seen = []);
      const record = () => {
        for (const bar of document.querySelectorAll('[data-testid="job-progress"][data-phase="cleanup"]')) {
          const v = Number(bar.querySelector('[role="progressbar"]').getAttribute('aria-valuenow'));
          if (seen[seen.length - 1] !== v) seen.push(v);
        }
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, attributes: true, childList: true });
    })()`);
    await cleanUp(page, name, disks);
    await jobRow(page, name).getByTestId('job-status').getByText('cleanup_running').waitFor();
    await page.screenshot({ path: join(SHOTS, 'failover-cleanup-running.png') });
    await page.getByText(`Cleanup of ${name} completed`).waitFor({ timeout: 120_000 });
    await jobStatus(page, name, 'cleanup_completed');
    await page.screenshot({ path: join(SHOTS, 'failover-cleanup-completed.png') });

    // The observer's sweeps against their interval, drawn; an admin may sweep now and see one more.
    await page.goto(`${suite.gatewayUrl}/#/coherence`);
    const sweeps = page.getByRole('img', {
      name: /^Duration of the last \d+ sweeps against the 5000 ms interval$/,
    });
    await sweeps.waitFor();
    const count = async () =>
      Number(/last (\d+) sweeps/.exec((await sweeps.getAttribute('aria-label'))!)![1]);
    const before = await count();
    await page.getByRole('button', { name: 'Sweep now' }).click();
    await eventually(async () => ((await count()) === before + 1 ? true : undefined));
    await page.screenshot({ path: join(SHOTS, 'coherence.png') });
    await page.goto(`${suite.gatewayUrl}/#/migrations`);
    await page.getByRole('grid', { name: 'Migrations' }).waitFor();
    const seen = await page.evaluate<number[]>('window.seen');
    // From 0 through several steps to 100, never backwards: fed by step-changed events, not a reload.
    expect(seen[0]).toBe(0);
    expect(seen[seen.length - 1]).toBe(100);
    expect(new Set(seen).size).toBeGreaterThanOrEqual(4);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await page.context().close();
  }, 300_000);

  it('shows a failed cleanup’s per-volume report and resumes it; a viewer sees no cleanup button', async () => {
    const appliance = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body.find(
      (v) => v.name === Suite.APPLIANCE,
    )!;
    const { name, disks } = await migratedVm(appliance, 2);
    const page = await signIn(suite.adminKey);
    await page.goto(`${suite.gatewayUrl}/#/failover`);
    await startFailover(page, name);

    // A viewer, signed in meanwhile, sees the job and no button it may not press.
    const viewer = await signIn(await suite.keyWithRole('viewer'));
    await viewer.goto(`${suite.gatewayUrl}/#/failover`);
    await jobStatus(viewer, name, 'test_active');
    expect(await viewer.getByRole('button', { name: 'Cleanup' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Test failover' }).count()).toBe(0);
    await viewer.screenshot({ path: join(SHOTS, 'failover-viewer.png') });
    await viewer.context().close();

    // The test VM stopped, then a stray process opens one image: the appliance's attach really fails.
    const job = (
      await suite.request<{ test_vm_id: string; vm_name: string }[]>('GET', '/api/v1/failover/jobs')
    ).body.find((j) => j.vm_name === name)!;
    await suite.request('POST', `/api/v1/vms/${job.test_vm_id}/actions/stop`);
    await suite.waitForVmState(job.test_vm_id, 'stopped');
    const path = (await suite.request<DiskDto>('GET', `/api/v1/disks/${disks[0]!.id}`)).body.path!;
    const release = await holdImage(path);
    try {
      await cleanUp(page, name, disks);
      await jobStatus(page, name, 'cleanup_failed');
      await page.getByText(`Cleanup of ${name} failed`).waitFor();
      const report = page.getByTestId('cleanup-report');
      await report.getByText(disks[0]!.name, { exact: true }).waitFor();
      expect(await report.innerText()).toContain('attached to no VM (error)');
      expect(await report.innerText()).toMatch(/resume/);
      await page.screenshot({ path: join(SHOTS, 'failover-cleanup-failed.png') });
    } finally {
      await release();
    }
    await jobRow(page, name).getByRole('button', { name: 'Resume cleanup' }).click();
    await page.getByText(`Cleanup of ${name} completed`).waitFor({ timeout: 120_000 });
    await jobStatus(page, name, 'cleanup_completed');
    expect(await page.getByTestId('cleanup-report').count()).toBe(0);
    await page.context().close();
  }, 300_000);

  it('passes an accessibility audit on every view, with their data, and fits a 1024-pixel window', async () => {
    const page = await signIn(suite.adminKey, NARROW);
    await checkView(page, suite.gatewayUrl, 'health', () =>
      page.getByText('postgres', { exact: false }).first().waitFor(),
    );
    await checkView(page, suite.gatewayUrl, 'vms', () => page.getByTestId(`vm-${Suite.APPLIANCE}`).waitFor());
    await checkView(page, suite.gatewayUrl, 'disks', () =>
      page.getByRole('grid', { name: 'Disks' }).getByText('in-use', { exact: true }).first().waitFor(),
    );
    await checkView(page, suite.gatewayUrl, 'failover', () =>
      page.getByText('cleanup_completed', { exact: true }).first().waitFor(),
    );
    await checkView(page, suite.gatewayUrl, 'coherence', () =>
      page.getByRole('img', { name: /^Duration of the last \d+ sweeps/ }).waitFor(),
    );
    await checkView(page, suite.gatewayUrl, 'migrations');
    // Narrower than 1200 px the navigation folds away behind a button in the masthead.
    const nav = page.getByRole('navigation', { name: 'Views' });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Navigation' }).click();
    await nav.getByRole('link', { name: 'Disks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Disks' }).waitFor();
    // Choosing a view folds the navigation away again, off the page it lay over.
    await nav.waitFor({ state: 'hidden' });
    expect(await auditA11y(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'narrow-navigation.png') });
    await page.context().close();
    const signInPage = await (await browser.newContext({ viewport: NARROW })).newPage();
    await signInPage.goto(`${suite.gatewayUrl}/`);
    await signInPage.getByLabel('API key').waitFor();
    expect(await auditA11y(signInPage)).toEqual([]);
    expect(await overflowX(signInPage)).toBe(0);
    // The checks can fail: an unlabelled field and a row wider than the window are found.
    await signInPage.evaluate(`(() => {
      const form = document.querySelector('form');
      form.append(document.createElement('input'));
      const wide = document.createElement('div');
      wide.style.width = '1500px';
      wide.style.height = '1px';
      form.append(wide);
    })()`);
    expect((await auditA11y(signInPage)).map((f) => f.rule)).toContain('label');
    expect(await overflowX(signInPage)).toBeGreaterThan(0);
    await signInPage.context().close();
  }, 180_000);
});

describe('web console: hosts, placement and inspections (Playwright, Debian chromium)', () => {
  let suite: Suite;
  let browser: Browser;

  /** A stopped VM whose disk holds a small Debian root (fstab by-path, VMware tools): real facts to show. */
  let guestVm: VmDto;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    suite = await Suite.start(['vm-operator', 'host-capability', 'inspector', 'gateway']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    guestVm = await suite.createLegacyGuestVm('stopped', 'root');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await suite?.dispose();
  });

  it('shows the local host’s facts with their sources, explains a placement refusal, and queues an inspection', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${suite.gatewayUrl}/#/hosts`);
    await page.getByLabel('API key').fill(suite.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // The local host, discovered: its facts by category, each with where it came from.
    const hosts = page.getByRole('grid', { name: 'Hosts' });
    await hosts.getByText('ready', { exact: true }).waitFor({ timeout: 90_000 });
    await hosts.getByRole('button', { name: 'Facts and history' }).first().click();
    await page.getByRole('button', { name: /^cpu \(\d+\)$/ }).click();
    const cpu = page.getByRole('grid', { name: 'cpu facts' });
    await cpu.waitFor();
    expect(await cpu.innerText()).toMatch(/\/proc\/cpuinfo|lscpu|QMP|virsh/);

    // Placement with a trait no host has (a custom one, made for this): the host is rejected, and
    // the reason names the trait.
    expect(
      (await suite.request('POST', '/api/v1/traits', { body: { name: 'CUSTOM_NOBODY_HAS_THIS' } })).status,
    ).toBe(201);
    await page.getByLabel('Required traits').fill('CUSTOM_NOBODY_HAS_THIS');
    await page.getByRole('button', { name: 'Find hosts' }).click();
    const verdict = page.getByRole('grid', { name: 'Placement result' });
    await verdict.getByText('rejected').first().waitFor();
    expect(await verdict.innerText()).toContain('CUSTOM_NOBODY_HAS_THIS');
    await page.screenshot({ path: join(SHOTS, 'hosts.png'), fullPage: true });

    // An inspection of local VMs, two of which do not exist: the queue shows each VM's outcome live,
    // and the real one's facts as libguestfs read them from its disk.
    await page.goto(`${suite.gatewayUrl}/#/inspections`);
    await page.getByRole('button', { name: 'Local VMs' }).click();
    await page.getByLabel('VM ids, in order').fill(`no-such-vm-1, ${guestVm.name}, no-such-vm-2`);
    await page.getByRole('button', { name: 'Inspect' }).click();
    const queue = page.getByRole('grid', { name: 'Inspection queue' });
    await queue.getByText('no-such-vm-2', { exact: true }).waitFor();
    const guestRow = queue.getByRole('row').filter({ hasText: guestVm.name });
    await guestRow.getByText('completed', { exact: true }).waitFor({ timeout: 180_000 });
    expect(await queue.getByText('error', { exact: true }).count()).toBe(2);
    // Counted on the row (seed 001's hazards: fstab by path, VMware tools), laid out when opened.
    expect(await guestRow.innerText()).toMatch(/1 blocking\s+1 warning\b/);
    // Opened by keyboard: the row's toggle is named after its VM.
    await guestRow.getByRole('button', { name: `${guestVm.name} Details` }).focus();
    await page.keyboard.press('Enter');
    const details = page.getByTestId(`inspection-details-${guestVm.name}`);
    await details.getByText('FSTAB_BY_PATH', { exact: true }).waitFor();
    expect(await details.innerText()).toMatch(/Guest OS\s+(Debian|debian 12)/i);
    expect(await details.innerText()).toContain('legacy-web');
    const fstab = details.getByRole('grid', { name: `/etc/fstab of ${guestVm.name}` });
    expect(await fstab.innerText()).toContain('/dev/disk/by-path/');
    await details.getByRole('listitem').filter({ hasText: 'completed' }).first().waitFor();
    expect(await overflowX(page)).toBe(0);
    expect(await auditA11y(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'inspections.png'), fullPage: true });

    // The queue is the inspector's, whoever started it: a run started elsewhere replaces it live.
    await page.getByRole('heading', { name: /^Queue run .* · local · done$/ }).waitFor();
    const elsewhere = await suite.request('POST', '/api/v1/vms/inspector', {
      body: { source: { type: 'local' }, vmIds: ['no-such-vm-3', 'no-such-vm-4', 'no-such-vm-5'] },
    });
    expect(elsewhere.status).toBe(202);
    await queue.getByText('no-such-vm-5', { exact: true }).waitFor();
    await eventually(
      async () => ((await queue.getByText(/^(error|not_found)$/).count()) === 3 ? true : undefined),
      60_000,
    );
    expect(await queue.getByText('no-such-vm-1', { exact: true }).count()).toBe(0);
    // One state only: the failed VMs, and none when asking for the completed ones.
    await page.getByRole('button', { name: 'error', exact: true }).click();
    await eventually(async () => ((await queue.getByRole('row').count()) === 4 ? true : undefined));
    await page.getByRole('button', { name: 'completed', exact: true }).click();
    await page.getByText('No VM in this state.').waitFor();

    await page.getByRole('button', { name: 'all', exact: true }).click();
    await page.setViewportSize(NARROW);
    await checkView(page, suite.gatewayUrl, 'inspections', () =>
      queue.getByText('no-such-vm-5', { exact: true }).waitFor(),
    );
    await checkView(page, suite.gatewayUrl, 'hosts', () =>
      page.getByRole('grid', { name: 'Hosts' }).getByText('ready', { exact: true }).waitFor(),
    );
    await page.context().close();
  }, 240_000);
});
