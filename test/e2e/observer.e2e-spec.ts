import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type {
  CoherenceIssueDto,
  CoherenceStatusDto,
  DiskDto,
  IssueKind,
  VmDto,
  VolumeOperationDto,
} from '@ferry/contracts';
import { volumeDeviceId } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import { qmpBlockDevices, qmpQuery } from '../support/qmp';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';
import { TcpProxy } from '../support/tcp-proxy';

const POLICIES = 'vm_process_missing=repair,attachment_missing=repair,orphan_disk=quarantine';

/** Seed 004's observer against real QEMU and real files: drift is seen, never flaps, repaired on request. */
describe('observer (coherence sweeps, real QEMU)', () => {
  let suite: Suite;
  let proxy: TcpProxy;
  let sse: SseClient;
  const template = randomName('tpl');
  /** vm-operator runs QEMU through this wrapper, which waits 3 s first while `slowMarker` exists. */
  const tools = mkdtempSync('/tmp/fo-');
  const slowMarker = join(tools, 'slow');

  beforeAll(async () => {
    const wrapper = join(tools, 'qemu');
    writeFileSync(wrapper, `#!/bin/sh\n[ -e ${slowMarker} ] && sleep 3\nexec qemu-system-x86_64 "$@"\n`);
    chmodSync(wrapper, 0o755);
    suite = await Suite.start(['volume-daemon', 'gateway']);
    // vm-operator reaches Postgres through a proxy the test can cut.
    const db = new URL(suite.db.url);
    proxy = await TcpProxy.start(db.hostname, Number(db.port || 5432));
    db.port = String(proxy.port);
    await suite.startService('vm-operator', { DATABASE_URL: db.toString(), QEMU_BINARY: wrapper });
    await suite.startService('observer', { OBSERVER_POLICIES: POLICIES });
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.observer.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
  }, 90_000);

  afterAll(async () => {
    sse?.close();
    await suite?.dispose();
    await proxy?.dispose();
    rmSync(tools, { recursive: true, force: true });
  });

  const sweep = async (): Promise<CoherenceStatusDto> => {
    const res = await suite.request<CoherenceStatusDto>('POST', '/api/v1/coherence/sweep');
    expect(res.status).toBe(200);
    return res.body;
  };
  const issues = async (query: string) =>
    (await suite.request<CoherenceIssueDto[]>('GET', `/api/v1/coherence/issues${query}`)).body;
  const issueOf = async (kind: IssueKind, subject: string, open = true) =>
    (await issues(`?open=${open}&kind=${kind}`)).find((i) => i.subject === subject);
  const diskWithPath = async (): Promise<DiskDto> => {
    const created = await suite.request<DiskDto>('POST', '/api/v1/disks', {
      body: { name: randomName('d'), size: 1 },
    });
    expect(created.status).toBe(201);
    return created.body;
  };
  const eventFor = (type: string, subject: string) =>
    sse.waitFor(
      (m) => m.data.type === type && (m.data.data as { issue: CoherenceIssueDto }).issue.subject === subject,
    );

  it('finds nothing wrong with a coherent system, and says whether sweeps keep up', async () => {
    const vm = await suite.createVm(template, 'running');
    await diskWithPath();
    await sweep();
    const status = await sweep();
    expect(status).toMatchObject({ keeping_up: true, errors: [], open_by_kind: {} });
    expect(status.checked.vms).toBeGreaterThanOrEqual(1);
    expect(status.checked.disks).toBeGreaterThanOrEqual(1);
    expect(status.last_duration_ms).toBeLessThanOrEqual(status.interval_ms);
    // Where the time went: every phase is reported, and together they are the sweep but for saving it.
    const phases = status.phases_ms;
    expect(Object.keys(phases).sort()).toEqual(['book', 'judge', 'probes', 'records', 'repairs']);
    const sum = Object.values(phases).reduce((a, b) => a + (b ?? 0), 0);
    expect(sum).toBeLessThanOrEqual(status.last_duration_ms! + 5);
    // The last sweeps, oldest first, ending with this one (the console's sparkline).
    expect(status.recent_sweeps.length).toBeGreaterThanOrEqual(3);
    expect(status.recent_sweeps.at(-1)).toEqual({
      finished_at: status.last_sweep_at,
      duration_ms: status.last_duration_ms,
    });
    const times = status.recent_sweeps.map((s) => s.finished_at);
    expect(times).toEqual([...times].sort());
    expect(await issues('')).toEqual([]);
    // A sweep on demand is for admins.
    const operator = await suite.keyWithRole('operator');
    expect((await suite.request('POST', '/api/v1/coherence/sweep', { key: operator })).status).toBe(403);
    expect((await suite.request('GET', '/api/v1/coherence/status', { key: operator })).status).toBe(200);
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`);
    await suite.waitForVmState(vm.id, 'stopped');
  }, 60_000);

  it('opens disk_missing only when two sweeps in a row see it (one flicker opens nothing) and closes it when the file is back', async () => {
    const disk = await diskWithPath();
    const path = (await suite.request<DiskDto>('GET', `/api/v1/disks/${disk.id}`)).body.path!;
    const away = join(tools, `${disk.id}.away`);

    renameSync(path, away);
    await sweep();
    renameSync(away, path);
    await sweep();
    await sweep();
    expect((await issues('?kind=disk_missing')).filter((i) => i.subject === disk.id)).toEqual([]);

    renameSync(path, away);
    await sweep();
    expect(await issueOf('disk_missing', disk.id)).toBeUndefined();
    await sweep();
    expect(await issueOf('disk_missing', disk.id)).toMatchObject({
      subject_type: 'disk',
      expected: path,
      observed: 'no such file',
      count: 2,
      open: true,
      repair: null,
    });
    await eventFor('ferry.observer.issue.opened', disk.id);

    renameSync(away, path);
    await sweep();
    expect(await issueOf('disk_missing', disk.id)).toBeUndefined();
    expect(await issueOf('disk_missing', disk.id, false)).toMatchObject({
      open: false,
      resolved_at: expect.any(String),
    });
    await eventFor('ferry.observer.issue.resolved', disk.id);
  }, 60_000);

  it('sees a device_del behind volume-daemon as attachment_missing, and repair has volume-daemon fix its record', async () => {
    const vm = await suite.createVm(template, 'running');
    const disk = await diskWithPath();
    const op = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${disk.id}/attach`, {
      body: { vmId: vm.id },
    });
    expect(await suite.waitForOperation(op.body.id)).toMatchObject({ status: 'completed' });
    await sweep();

    await qmpQuery(suite.vmRuntimeDir, vm.id, 'device_del', { id: volumeDeviceId(disk.id) });
    await eventually(async () =>
      (await qmpBlockDevices(suite.vmRuntimeDir, vm.id)).includes(volumeDeviceId(disk.id)) ? undefined : true,
    );
    await sweep();
    await sweep();
    const issue = await issueOf('attachment_missing', disk.id);
    expect(issue).toMatchObject({ observed: 'not in query-block', open: true });
    expect(issue!.repair).toMatchObject({
      policy: 'repair',
      action: 'volume-daemon.disk.reconcile',
      outcome: 'done',
    });
    await eventFor('ferry.observer.issue.repaired', disk.id);
    expect((await suite.request<DiskDto>('GET', `/api/v1/disks/${disk.id}`)).body).toMatchObject({
      state: 'available',
      vm_id: null,
    });
    await sweep();
    expect(await issueOf('attachment_missing', disk.id, false)).toMatchObject({ open: false });
  }, 60_000);

  it('flags a stray QEMU as orphan_process, and closes the issue once it is gone', async () => {
    const id = randomUUID();
    const dir = join(suite.vmRuntimeDir, id);
    mkdirSync(dir);
    execFileSync('qemu-system-x86_64', [
      ...['-name', `ferry-${id},process=ferry-${id}`, '-machine', 'q35,accel=tcg', '-nodefaults'],
      ...['-display', 'none', '-m', '32M', '-daemonize', '-pidfile', join(dir, 'qemu.pid')],
    ]);
    // Another Ferry's QEMU on the same host (its pid file elsewhere) is none of this observer's business.
    const other = randomUUID();
    const otherPidFile = join(tools, `${other}.pid`);
    execFileSync('qemu-system-x86_64', [
      ...['-name', `ferry-${other},process=ferry-${other}`, '-machine', 'q35,accel=tcg', '-nodefaults'],
      ...['-display', 'none', '-m', '32M', '-daemonize', '-pidfile', otherPidFile],
    ]);
    await sweep();
    await sweep();
    process.kill(Number(execFileSync('cat', [otherPidFile]).toString().trim()), 'SIGKILL');
    expect(await issueOf('orphan_process', `ferry-${other}`)).toBeUndefined();
    const issue = await issueOf('orphan_process', `ferry-${id}`);
    expect(issue).toMatchObject({ subject_type: 'process', open: true });
    expect(issue!.observed).toMatch(/qemu pid \d+/);

    const pid = Number(
      execFileSync('cat', [join(dir, 'qemu.pid')])
        .toString()
        .trim(),
    );
    process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await eventually(async () =>
      (await sweep()) && !(await issueOf('orphan_process', `ferry-${id}`)) ? true : undefined,
    );
    expect(await issueOf('orphan_process', `ferry-${id}`, false)).toMatchObject({ open: false });
  }, 60_000);

  it('moves an orphan image file aside (quarantine) and never deletes it', async () => {
    const stray = join(suite.diskDir, `${randomName('stray')}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', stray, '16M']);
    await sweep();
    expect(existsSync(stray)).toBe(true);
    await sweep();
    const issue = await issueOf('orphan_disk', stray);
    expect(issue!.repair).toMatchObject({ policy: 'quarantine', outcome: 'done' });
    expect(existsSync(stray)).toBe(false);
    const moved = readdirSync(join(suite.diskDir, 'quarantine')).filter((f) =>
      f.startsWith(stray.split('/').pop()!),
    );
    expect(moved).toHaveLength(1);
    await sweep();
    expect(await issueOf('orphan_disk', stray, false)).toMatchObject({ open: false });
  }, 60_000);

  it('does not flag a VM in the middle of its start', async () => {
    const vm = await suite.createVm(template, 'stopped');
    writeFileSync(slowMarker, '');
    try {
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) {
        const state = (await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body.state;
        expect(state).toBe('starting');
        seen.push((await sweep()).skipped);
      }
      expect(seen.every((n) => n >= 1)).toBe(true);
    } finally {
      rmSync(slowMarker, { force: true });
    }
    await suite.waitForVmState(vm.id, 'running');
    await sweep();
    expect((await issues('')).filter((i) => i.subject === vm.id)).toEqual([]);
  }, 60_000);

  it('sees a QEMU killed while vm-operator could not record it within 2 intervals, and repair marks the VM stopped', async () => {
    const interval = 500;
    await suite.process('observer').stop();
    await suite.startService('observer', {
      OBSERVER_POLICIES: POLICIES,
      OBSERVER_SWEEP_INTERVAL_MS: String(interval),
      OBSERVER_PERIODIC_SWEEPS: 'true',
    });
    const vm = await suite.waitForVmState((await suite.createVm(template, 'running')).id, 'running');

    // vm-operator watches QEMU and would record the exit at once; with its database cut it cannot,
    // and the record says running with no process behind it: the drift the observer is for.
    await proxy.cut();
    process.kill(vm.pid!, 'SIGKILL');
    await suite.process('vm-operator').waitFor(/could not record that QEMU exited/);
    await proxy.restore();
    await eventually(async () => {
      const res = await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`);
      return res.status === 200 && res.body.state === 'running' ? true : undefined;
    }, 20_000);

    const issue = await eventually(async () => {
      const all = await issues(`?kind=vm_process_missing`);
      return all.find((i) => i.subject === vm.id);
    }, 20_000);
    expect(issue.count).toBe(2);
    expect(Date.parse(issue.opened_at!) - Date.parse(issue.first_seen)).toBeLessThanOrEqual(2 * interval);
    expect(issue.observed).toMatch(/no process|zombie/);
    await suite.waitForVmState(vm.id, 'stopped', 20_000);
    const repaired = await eventually(
      async () => (await issueOf('vm_process_missing', vm.id, false)) ?? undefined,
      20_000,
    );
    expect(repaired.repair).toMatchObject({
      policy: 'repair',
      action: 'vm-operator.vm.reconcile',
      outcome: 'done',
    });
    expect(repaired.repair!.detail).toContain('VM is now stopped');
  }, 120_000);
});
