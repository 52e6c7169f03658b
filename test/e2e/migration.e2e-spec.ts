import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  DiskDto,
  MigrationDto,
  MigrationPlanDto,
  MigrationReportDto,
  TemplateDto,
  VmDto,
} from '@ferry/contracts';
import {
  BOOT_OK_MARKER,
  FSTAB_FAIL_MARKER,
  FSTAB_OK_MARKER,
  VcsimProbe,
  VcsimProcess,
  bootToMarker,
  diskKeys,
  eventually,
  guestAddress,
  setGuestId,
  vmPowerState,
} from '@ferry/testing';
import type { MigrationSource } from '../support/migrations';
import {
  TINY_GUEST_VALIDATE,
  credentialsOf,
  migrationSource,
  migrationSuite,
  waitForMigration,
} from '../support/migrations';
import { SseClient } from '../support/sse';
import type { Suite } from '../support/suite';

/**
 * Seed 001's whole pipeline through the gateway: a vSphere VM (vcsim, with the tiny bootable guest and
 * its VMware traits as its disk) is planned without anything changing, then migrated, validated as a
 * test failover and cut over; the production VM boots on Ferry's network with the address it got.
 */
describe('migrations: a vSphere VM planned, migrated, validated and cut over', () => {
  let vcsim: VcsimProcess;
  let probe: VcsimProbe;
  let suite: Suite;
  let source: MigrationSource;
  let windows: string;
  let rdm: string;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migration-'));

  beforeAll(async () => {
    vcsim = await VcsimProcess.start({ vms: 2, rdm: 'DC0_C0_RP0_VM1', password: 'vc-Secr3t-9f' });
    probe = new VcsimProbe(vcsim);
    source = await migrationSource(vcsim, dir, 'DC0_H0_VM0');
    windows = (await migrationSource(vcsim, dir, 'DC0_H0_VM1')).moref;
    await setGuestId(vcsim, windows, 'windows9Server64Guest');
    rdm = await probe.moref('/DC0/vm/DC0_C0_RP0_VM1');
    suite = await migrationSuite(vcsim);
  }, 300_000);

  afterAll(async () => {
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (body: Record<string, unknown>) =>
    suite.request<MigrationDto & { detail?: string }>('POST', '/api/v1/migrations', { body });
  const disks = async () => (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;
  const vms = async () => (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body;
  const templates = async () => (await suite.request<TemplateDto[]>('GET', '/api/v1/templates')).body;

  it('plans (mode plan) with every fix as a diff, and changes nothing anywhere', async () => {
    const before = {
      disks: await diskKeys(vcsim, source.moref),
      vms: await vms(),
      templates: await templates(),
    };
    const r = await start({
      source: { VcenterCredentials: credentialsOf(vcsim), vmId: source.moref },
      mode: 'plan',
    });
    expect({ status: r.status, body: r.status === 202 ? 'accepted' : r.body }).toEqual({
      status: 202,
      body: 'accepted',
    });
    expect(r.headers.get('location')).toBe(`/api/v1/migrations/${r.body.id}`);
    expect(JSON.stringify(r.body)).not.toContain(vcsim.password);
    const m = await waitForMigration(suite, r.body.id, ['planned'], 240_000);
    expect(m.stages.map((s) => [s.name, s.state])).toEqual([
      ['fetch', 'done'],
      ['flatten', 'done'],
      ['inspect', 'done'],
      ['plan', 'done'],
      ['fix', 'skipped'],
      ['convert', 'skipped'],
      ['validate', 'skipped'],
      ['cutover', 'skipped'],
    ]);
    const flatten = m.stages.find((s) => s.name === 'flatten')!;
    expect(flatten.progress).toEqual({
      bytes_done: source.guest.sizeBytes,
      bytes_total: source.guest.sizeBytes,
    });

    const plan = (await suite.request<MigrationPlanDto>('GET', `/api/v1/migrations/${m.id}/plan`)).body;
    expect(plan.blockers).toEqual([]);
    expect(plan.guest).toMatchObject({ os_type: 'linux', distro: 'debian', appliance_boots: 1 });
    expect(plan.placement.host).not.toBeNull();
    expect(plan.template).toMatchObject({ derived: true, firmware: 'bios' });
    expect(plan.nics).toEqual([
      expect.objectContaining({ source_mac: source.mac, mac: source.mac, model: 'virtio' }),
    ]);
    expect(plan.virt_v2v.applies).toBe(false);
    expect(plan.virt_v2v.reason).toMatch(/GRUB/);
    const byPath = plan.fixes.find((f) => f.name === 'by-path')!;
    const fstab = byPath.edits.find((e) => e.path === '/etc/fstab')!;
    expect(fstab.diff).toContain(`-/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 /data`);
    expect(fstab.diff).toContain(`+UUID=${source.guest.dataUuid} /data`);
    // The new NIC keeps the source's MAC (as Forklift does), so the guest's own pin still fits.
    const net = plan.fixes.find((f) => f.name === 'network')!;
    expect(net.edits).toEqual([]);
    expect(net.notes.join(' ')).toContain('ens192');
    const tools = plan.fixes.find((f) => f.name === 'vmware-tools')!;
    expect(tools.edits.map((e) => [e.kind, e.path])).toEqual(
      expect.arrayContaining([['rename', '/usr/bin/vmtoolsd']]),
    );
    expect(plan.fixes.map((f) => f.name)).toContain('vmware-tools');

    const md = await suite.request<string>('GET', `/api/v1/migrations/${m.id}/plan`, {
      headers: { accept: 'text/markdown' },
    });
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(md.body).toContain('```diff');
    expect(md.body).toContain(`UUID=${source.guest.dataUuid}`);

    // Nothing changed: vcsim's VM has its disks and no snapshot; Ferry has no copy, VM or template more.
    expect(await diskKeys(vcsim, source.moref)).toEqual(before.disks);
    expect(await probe.snapshotNames(source.moref)).toEqual([]);
    expect(await vmPowerState(vcsim, source.moref)).toBe('poweredOn');
    expect((await disks()).filter((d) => d.name.startsWith('dc0-h0-vm0'))).toEqual([]);
    expect((await vms()).map((v) => v.id)).toEqual(before.vms.map((v) => v.id));
    expect((await templates()).map((t) => t.name)).toEqual(before.templates.map((t) => t.name));
  }, 300_000);

  it('migrates with cutover auto: the production VM boots fixed, with the address it printed', async () => {
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.cleanup.migration.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      const r = await start({
        source: { VcenterCredentials: credentialsOf(vcsim), vmId: `/DC0/vm/${source.name}` },
        mode: 'migrate',
        cutover: 'auto',
        validate: { ...TINY_GUEST_VALIDATE, expect_ip: true },
      });
      expect({ status: r.status, body: r.status === 202 ? 'accepted' : r.body }).toEqual({
        status: 202,
        body: 'accepted',
      });
      // The same VM cannot be migrated twice at once (by MoRef or path): 409 naming the migration.
      const twice = await start({
        source: { VcenterCredentials: credentialsOf(vcsim), vmId: source.moref },
        mode: 'plan',
      });
      expect(twice.status).toBe(409);
      expect(twice.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(twice.body.detail).toContain(r.body.id);

      const m = await waitForMigration(suite, r.body.id, ['completed'], 600_000);
      expect(m.stages.map((s) => [s.name, s.state])).toEqual([
        ['fetch', 'done'],
        ['flatten', 'done'],
        ['inspect', 'done'],
        ['plan', 'done'],
        ['fix', 'done'],
        ['convert', 'skipped'],
        ['validate', 'done'],
        ['cutover', 'done'],
      ]);
      for (const s of m.stages.filter((s) => s.state === 'done')) {
        expect(s.attempts).toBe(1);
        expect(Date.parse(s.finished_at!)).toBeGreaterThanOrEqual(Date.parse(s.started_at!));
      }

      // The production VM: fstab fixed (FERRY-FSTAB-OK), its NIC up as ens192 with the lease's address.
      const vm = (await suite.request<VmDto>('GET', `/api/v1/vms/${m.production_vm_id}`)).body;
      const console = (await suite.request<{ text: string }>('GET', `/api/v1/vms/${vm.id}/console`)).body
        .text;
      expect(console).toContain(BOOT_OK_MARKER);
      expect(console).toContain(FSTAB_OK_MARKER);
      const printed = guestAddress(console, 'ens192');
      expect(printed).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(vm.local_ip).toBe(printed);
      expect(vm.name).toBe('dc0-h0-vm0');

      // The source: powered off, no snapshot left, never deleted.
      expect(await vmPowerState(vcsim, source.moref)).toBe('poweredOff');
      expect(await probe.snapshotNames(source.moref)).toEqual([]);
      expect((await diskKeys(vcsim, source.moref)).length).toBe(1);

      // One volume, on the production VM; no test VM left.
      const copies = (await disks()).filter((d) => d.name.startsWith('dc0-h0-vm0-disk'));
      expect(copies.map((d) => [d.name, d.state, d.vm_id])).toEqual([['dc0-h0-vm0-disk1', 'in-use', vm.id]]);
      expect((await vms()).map((v) => v.name).filter((n) => n.includes('-test-'))).toEqual([]);

      // The report holds every stage, the fix's edits, both boots and the downtime.
      const report = (await suite.request<MigrationReportDto>('GET', `/api/v1/migrations/${m.id}/report`))
        .body;
      expect(report.stages.map((s) => s.name)).toEqual(m.stages.map((s) => s.name));
      expect(report.fix!.edits.filter((e) => e.outcome === 'applied').map((e) => e.path)).toEqual(
        expect.arrayContaining(['/etc/fstab', '/usr/bin/vmtoolsd']),
      );
      expect(report.appliance_boots).toBe(2);
      expect(report.validation).toMatchObject({ passed: true, ip: expect.stringMatching(/^\d/) });
      expect(report.validation!.console_excerpt).toContain(FSTAB_OK_MARKER);
      expect(report.cutover).toMatchObject({ passed: true, ip: printed, vm_id: vm.id });
      expect(report.cutover!.downtime_ms).toBeGreaterThan(0);
      const md = await suite.request<string>('GET', `/api/v1/migrations/${m.id}/report`, {
        headers: { accept: 'text/markdown' },
      });
      expect(md.body).toContain('## Cutover');
      expect(md.body).toContain(FSTAB_OK_MARKER);

      // Its events, through the outbox: created, every stage, completed.
      await sse.waitFor(
        (e) => e.data.type === 'ferry.cleanup.migration.completed' && e.data.subject === m.id,
      );
      const types = sse.messages.filter((e) => e.data.subject === m.id).map((e) => e.data.type);
      expect(types[0]).toBe('ferry.cleanup.migration.created');
      expect(types).toContain('ferry.cleanup.migration.stage-changed');
      expect(types).toContain('ferry.cleanup.migration.progress');
      expect(JSON.stringify(sse.messages)).not.toContain(vcsim.password);
    } finally {
      sse.close();
    }
  }, 600_000);

  it('the fix is what makes the difference: the same disk unfixed fails its fstab', async () => {
    const booted = await bootToMarker(
      { path: source.guest.path, format: 'raw', bus: 'scsi', nicMac: source.mac },
      /FERRY-NET-(OK|FAIL)/,
      120_000,
    );
    expect(booted.console).toContain(BOOT_OK_MARKER);
    expect(booted.console).toContain(FSTAB_FAIL_MARKER);
  }, 180_000);

  it('stops at plan on blockers, fetching nothing: a Windows guest and a physical RDM', async () => {
    const before = (await disks()).length;
    for (const [vmId, code] of [
      [windows, 'WINDOWS_GUEST'],
      [rdm, 'RDM_DISK'],
    ] as const) {
      const r = await start({ source: { VcenterCredentials: credentialsOf(vcsim), vmId }, mode: 'migrate' });
      expect(r.status).toBe(202);
      const m = await waitForMigration(suite, r.body.id, ['blocked'], 120_000);
      expect(m.error!.message).toContain(code);
      expect(m.stages.slice(0, 3).map((s) => s.state)).toEqual(['skipped', 'skipped', 'skipped']);
      const plan = (await suite.request<MigrationPlanDto>('GET', `/api/v1/migrations/${m.id}/plan`)).body;
      expect(plan.blockers.map((b) => b.code)).toContain(code);
      expect(await probe.snapshotNames(vmId)).toEqual([]);
    }
    expect((await disks()).length).toBe(before);
  }, 300_000);

  it('refuses bad input with problem+json and records nothing', async () => {
    const count = async () => (await suite.request<MigrationDto[]>('GET', '/api/v1/migrations')).body.length;
    const before = await count();
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [
        { source: { VcenterCredentials: credentialsOf(vcsim), vmId: 'vm-999999' }, mode: 'plan' },
        404,
        /vm-999999/,
      ],
      [{ source: { VcenterCredentials: credentialsOf(vcsim), vmId: source.moref } }, 400, /mode/],
      [{ source: { VcenterCredentials: credentialsOf(vcsim), vmId: windows }, mode: 'fly' }, 400, /mode/],
      [
        {
          source: { VcenterCredentials: credentialsOf(vcsim), vmId: windows },
          mode: 'plan',
          fixes: ['paint'],
        },
        400,
        /fixes/,
      ],
      [
        {
          source: { VcenterCredentials: credentialsOf(vcsim), vmId: windows },
          mode: 'plan',
          validate: { boot_success: '(' },
        },
        400,
        /boot_success/,
      ],
      [
        {
          source: { VcenterCredentials: credentialsOf(vcsim), vmId: windows },
          mode: 'plan',
          target: { name: 'Bad Name' },
        },
        400,
        /name/,
      ],
      [
        {
          source: { VcenterCredentials: credentialsOf(vcsim), vmId: windows },
          mode: 'plan',
          target: { template: 'nope' },
        },
        422,
        /nope/,
      ],
      [
        {
          source: { VcenterCredentials: { ...credentialsOf(vcsim), password: 'wrong' }, vmId: windows },
          mode: 'plan',
        },
        400,
        /credentials/,
      ],
    ];
    for (const [body, status, detail] of cases) {
      const r = await start(body);
      expect({ status: r.status, detail: r.body.detail }).toEqual({
        status,
        detail: expect.stringMatching(detail),
      });
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(await count()).toBe(before);
    const missing = await suite.request('GET', '/api/v1/migrations/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    const cutover = await suite.request(
      'POST',
      `/api/v1/migrations/${(await suite.request<MigrationDto[]>('GET', '/api/v1/migrations')).body[0]!.id}/cutover`,
    );
    expect(cutover.status).toBe(409);
  });

  it('does not let a migration be canceled once completed', async () => {
    const done = (await suite.request<MigrationDto[]>('GET', '/api/v1/migrations?status=completed')).body[0]!;
    const r = await suite.request<{ detail: string }>('DELETE', `/api/v1/migrations/${done.id}`);
    expect(r.status).toBe(409);
    expect(r.body.detail).toContain(done.production_vm_id!);
    await eventually(
      async () => ((await vmPowerState(vcsim, source.moref)) === 'poweredOff' ? true : undefined),
      5000,
      'off',
    );
  });
});
