import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { InspectionStatusDto, InspectorStatusDto, VmDto } from '@ferry/contracts';
import { InspectorEvents } from '@ferry/contracts';
import { eventually } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

/**
 * The local source end to end: a running QEMU VM (vm-operator) with a disk that holds a small Debian
 * root filesystem, frozen by vm-operator's live snapshot, read by qemu-img and libguestfs for real.
 */
describe('inspector against vm-operator VMs (real QEMU, real libguestfs)', () => {
  let suite: Suite;
  let sse: SseClient;
  let vm: VmDto;
  const DEVICE = 'guest-root';

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.inspector.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    await suite.startService('inspector');
    vm = await suite.createLegacyGuestVm('running', DEVICE);
  }, 120_000);

  afterAll(async () => {
    sse?.close();
    await suite?.dispose();
  });

  const status = async () => (await suite.request<InspectorStatusDto>('GET', '/api/v1/vms/inspector')).body;
  const result = async (id: string) =>
    (await suite.request<InspectionStatusDto>('GET', `/api/v1/vms/${id}/inspector`)).body;
  const overlay = () => join(suite.vmRuntimeDir, vm.id, `${DEVICE}.overlay.qcow2`);
  const intents = () =>
    suite.query<{ id: string; state: string; run_id: string }>(
      `SELECT id, state, run_id FROM inspector.snapshot_intents WHERE vm_id = $1 ORDER BY created_at`,
      [vm.name],
    );

  it('finds the distro, the partition table and seed 001’s hazards in a running VM’s frozen disk', async () => {
    const r = await suite.request<InspectorStatusDto>('POST', '/api/v1/vms/inspector', {
      body: { source: { type: 'local' }, vmIds: [vm.name] },
    });
    expect(r.status).toBe(202);
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 240_000, 'done');

    const { state, error, results } = await result(vm.name);
    expect({ state, error }).toEqual({ state: 'completed', error: undefined });
    expect(results!.source).toBe('local');
    expect(results!.guest).toMatchObject({
      osType: 'linux',
      distro: 'debian',
      majorVersion: 12,
      hostname: 'legacy-web',
      firmware: 'bios',
    });
    expect(results!.guest!.fstab.some((e) => e.spec.startsWith('/dev/disk/by-path/'))).toBe(true);
    const codes = results!.concerns.map((c) => c.code);
    expect(codes).toEqual(expect.arrayContaining(['FSTAB_BY_PATH', 'VMWARE_TOOLS']));
    const disk = results!.disks!.find((d) => d.deviceId === DEVICE)!;
    expect(disk.partitionTable?.type).toBe('gpt');
    expect(disk.partitionTable?.partitions.map((p) => p.kind)).toContain('linux-filesystem');
    expect(results!.snapshot).toEqual({ name: 'assisted-migration-deep-inspector', removed: true });

    // The snapshot was live (the VM kept running) and is gone: the overlay was committed back.
    expect((await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body.state).toBe('running');
    expect(existsSync(overlay())).toBe(false);
    expect((await intents()).map((i) => i.state)).toEqual(['removed']);
  });

  it('kill -9 mid-snapshot: after a restart the snapshot is gone and the VM is inspected again, never stuck running', async () => {
    const before = (await intents()).length;
    const r = await suite.request<InspectorStatusDto>('POST', '/api/v1/vms/inspector', {
      body: { source: { type: 'local' }, vmIds: [vm.name] },
    });
    expect(r.status).toBe(202);
    // The snapshot exists and libguestfs reads it: now.
    const intent = await eventually(
      async () => (await intents()).slice(before).find((i) => i.state === 'created'),
      60_000,
      'the snapshot',
    );
    expect(existsSync(overlay())).toBe(true);
    await suite.process('inspector').stop('SIGKILL');
    // The inspector is down: its row tells what it left.
    const left = await suite.query<{ state: string }>(
      `SELECT state FROM inspector.queue WHERE run_id = $1 AND vm_id = $2`,
      [intent.run_id, vm.name],
    );
    expect(left).toEqual([{ state: 'running' }]);

    await suite.startService('inspector');
    // Recovery removes the snapshot first, then queues the VM again.
    await eventually(
      async () => ((await intents()).find((i) => i.id === intent.id)?.state === 'removed' ? true : undefined),
      60_000,
      'the leftover snapshot removed',
    );
    await sse.waitFor(
      (m) =>
        m.data.type === InspectorEvents.VM_STATE_CHANGED &&
        m.data.subject === vm.name &&
        (m.data.data as { runId: string; from: string; to: string }).runId === intent.run_id &&
        (m.data.data as { from: string }).from === 'running' &&
        (m.data.data as { to: string }).to === 'pending',
      30_000,
    );
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 240_000, 'done');
    const after = await result(vm.name);
    expect(after.state).toBe('completed');
    expect(existsSync(overlay())).toBe(false);
    expect((await intents()).every((i) => i.state === 'removed')).toBe(true);
    expect((await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body.state).toBe('running');
  });
});
