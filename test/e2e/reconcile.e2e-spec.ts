import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskDto, RpcErrorBody, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { DiskSubjects, VmSubjects, volumeDeviceId } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { Client } from 'pg';
import { qmpBlockDevices, qmpQuery } from '../support/qmp';
import { Suite } from '../support/suite';

interface OutboxEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The "fix your own record" subjects the observer's repair calls: each owning service re-checks one
 * record against reality (QEMU) and changes it through its usual transitions. Reality is changed
 * behind Ferry's back here: a device unplugged over QEMU's auxiliary QMP monitor, a VM row edited in
 * Postgres (what a record looks like after a crash or a bad hand-edit).
 */
describe('reconcile (vm-operator.vm.reconcile, volume-daemon.disk.reconcile; real QEMU)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  let pg: Client;
  const template = randomName('tpl');

  const rpc = async <T>(subject: string, body: unknown): Promise<{ data?: T; error?: RpcErrorBody }> =>
    (await nc.request(subject, JSON.stringify(body), { timeout: 40_000 })).json();
  const getVm = async (id: string) => (await suite.request<VmDto>('GET', `/api/v1/vms/${id}`)).body;
  const getDisk = async (id: string) => (await suite.request<DiskDto>('GET', `/api/v1/disks/${id}`)).body;
  const newDisk = async (): Promise<DiskDto> => {
    const res = await suite.request<DiskDto>('POST', '/api/v1/disks', {
      body: { name: randomName('d'), size: 1 },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  const attach = async (diskId: string, vmId: string): Promise<DiskDto> => {
    const res = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${diskId}/attach`, {
      body: { vmId },
    });
    expect(res.status).toBe(202);
    expect(await suite.waitForOperation(res.body.id)).toMatchObject({ status: 'completed' });
    return getDisk(diskId);
  };
  /** The events a service wrote to its outbox about `subject`, oldest first. */
  const outbox = async (schema: 'volume' | 'vm_operator', subject: string): Promise<OutboxEvent[]> => {
    const { rows } = await pg.query<{ payload: OutboxEvent }>(
      `SELECT payload FROM ${schema}.outbox WHERE payload->>'subject' = $1 ORDER BY seq`,
      [subject],
    );
    return rows.map((r) => ({ type: r.payload.type, data: r.payload.data }));
  };
  const setVmRow = (id: string, state: string, pid: number | null) =>
    pg.query('UPDATE vm_operator.vms SET state = $2, pid = $3 WHERE id = $1', [id, state, pid]);
  const qemuPid = (vmId: string) => Number(readFileSync(join(suite.vmRuntimeDir, vmId, 'qemu.pid'), 'utf8'));

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'volume-daemon', 'gateway']);
    nc = await connect({ servers: suite.nats.url });
    pg = new Client({ connectionString: suite.db.url });
    await pg.connect();
    const res = await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    expect(res.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await pg?.end();
    await nc?.close();
    await suite?.dispose();
  });

  describe('volume-daemon.disk.reconcile', () => {
    it('frees a disk whose device was unplugged behind Ferry, and leaves a disk that is still attached as it is', async () => {
      const vm = await suite.createVm(template, 'running');
      const [gone, kept] = [await newDisk(), await newDisk()];
      const goneBefore = await attach(gone.id, vm.id);
      const keptBefore = await attach(kept.id, vm.id);
      expect(goneBefore).toMatchObject({ state: 'in-use', vm_id: vm.id, operation_id: null });

      // Still attached: nothing changes, not even the generation.
      const same = await rpc<DiskDto>(DiskSubjects.RECONCILE, { id: gone.id });
      expect(same.error).toBeUndefined();
      expect(same.data).toMatchObject({
        state: 'in-use',
        vm_id: vm.id,
        mount_point: goneBefore.mount_point,
        generation: goneBefore.generation,
      });

      // Unplugged straight over QMP: volume-daemon's record is now wrong.
      const deviceId = volumeDeviceId(gone.id);
      await qmpQuery(suite.vmRuntimeDir, vm.id, 'device_del', { id: deviceId });
      await eventually(
        async () => !(await qmpBlockDevices(suite.vmRuntimeDir, vm.id)).includes(deviceId) || undefined,
        30_000,
        `${deviceId} gone from query-block`,
      );
      expect(await getDisk(gone.id)).toMatchObject({ state: 'in-use', generation: goneBefore.generation });

      const fixed = await rpc<DiskDto>(DiskSubjects.RECONCILE, { id: gone.id });
      expect(fixed.error).toBeUndefined();
      expect(fixed.data).toMatchObject({
        id: gone.id,
        state: 'available',
        vm_id: null,
        mount_point: null,
        operation_id: null,
        generation: goneBefore.generation + 1,
      });
      expect(await getDisk(gone.id)).toEqual(fixed.data);

      // Through the usual transition: state-changed with the reason, and detached (no operation).
      const events = await eventually(
        async () => {
          const all = await outbox('volume', gone.id);
          return all.some((e) => e.type === 'ferry.volume-daemon.disk.detached') ? all : undefined;
        },
        10_000,
        'disk.detached in the outbox',
      );
      const last = events.slice(-2);
      expect(last.map((e) => e.type)).toEqual([
        'ferry.volume-daemon.disk.state-changed',
        'ferry.volume-daemon.disk.detached',
      ]);
      expect(last[0]!.data).toMatchObject({
        from: 'in-use',
        to: 'available',
        generation: goneBefore.generation + 1,
        vmId: null,
        operationId: null,
        reason: `device missing on VM ${vm.id} (reconciled on request)`,
      });
      expect(last[1]!.data).toMatchObject({
        vmId: vm.id,
        operationId: null,
        disk: { id: gone.id, state: 'available' },
      });

      // A second reconcile of the now available disk, and the other disk: no change.
      const again = await rpc<DiskDto>(DiskSubjects.RECONCILE, { id: gone.id });
      expect(again.data).toMatchObject({ state: 'available', generation: goneBefore.generation + 1 });
      const other = await rpc<DiskDto>(DiskSubjects.RECONCILE, { id: kept.id });
      expect(other.data).toMatchObject({
        state: 'in-use',
        vm_id: vm.id,
        generation: keptBefore.generation,
      });
      expect(await qmpBlockDevices(suite.vmRuntimeDir, vm.id)).toContain(volumeDeviceId(kept.id));
    });

    it('refuses (CONFLICT, naming it) while an operation holds the disk, and answers NOT_FOUND for an unknown disk', async () => {
      const d = await newDisk();
      const holder = '9c4f1e2a-7b3d-4c5e-8f60-1a2b3c4d5e6f';
      await pg.query('UPDATE volume.disks SET operation_id = $2 WHERE id = $1', [d.id, holder]);
      try {
        const busy = await rpc<DiskDto>(DiskSubjects.RECONCILE, { id: d.id });
        expect(busy.error).toMatchObject({ code: 'CONFLICT' });
        expect(busy.error!.message).toContain(holder);
      } finally {
        await pg.query('UPDATE volume.disks SET operation_id = NULL WHERE id = $1', [d.id]);
      }
      const missing = await rpc<DiskDto>(DiskSubjects.RECONCILE, {
        id: '0d1e2f3a-4b5c-4d6e-8f70-8a9b0c1d2e3f',
      });
      expect(missing.error).toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('vm-operator.vm.reconcile', () => {
    it('leaves a running VM whose QEMU answers as it is', async () => {
      const vm = await suite.createVm(template, 'running');
      const before = await getVm(vm.id);
      const res = await rpc<VmDto>(VmSubjects.RECONCILE, { id: vm.id });
      expect(res.error).toBeUndefined();
      expect(res.data).toMatchObject({
        id: vm.id,
        state: 'running',
        pid: before.pid,
        updated_at: before.updated_at,
        qmp_healthy: true,
      });
      expect((await outbox('vm_operator', vm.id)).map((e) => e.data['reason'])).not.toContainEqual(
        expect.stringContaining('reconciled'),
      );
    });

    it('adopts the QEMU of a VM recorded stopped as running (and still sees it exit)', async () => {
      const vm = await suite.createVm(template, 'running');
      const pid = qemuPid(vm.id);
      await setVmRow(vm.id, 'stopped', null);

      const res = await rpc<VmDto>(VmSubjects.RECONCILE, { id: vm.id });
      expect(res.error).toBeUndefined();
      expect(res.data).toMatchObject({ id: vm.id, state: 'running', pid, last_error: null });
      const changed = await eventually(
        async () =>
          (await outbox('vm_operator', vm.id)).find(
            (e) => e.data['to'] === 'running' && e.data['from'] === 'stopped',
          ),
        10_000,
        'state-changed stopped → running',
      );
      expect(changed).toMatchObject({
        type: 'ferry.vm-operator.vm.state-changed',
        data: { reason: 'qemu found running (reconciled on request)' },
      });

      // Watched: QEMU killed outside Ferry turns it stopped at once.
      process.kill(pid, 'SIGKILL');
      expect(await suite.waitForVmState(vm.id, 'stopped')).toMatchObject({ pid: null });
    });

    it('marks a VM recorded running with no QEMU stopped, and leaves a VM recorded starting alone', async () => {
      // Never started: there is no QEMU (nor runtime directory) for it.
      const vm = await suite.createVm(template, 'stopped');
      await setVmRow(vm.id, 'running', 999_999);

      const res = await rpc<VmDto>(VmSubjects.RECONCILE, { id: vm.id });
      expect(res.error).toBeUndefined();
      expect(res.data).toMatchObject({ id: vm.id, state: 'stopped', pid: null, qmp_healthy: null });
      const events = await eventually(
        async () => {
          const all = await outbox('vm_operator', vm.id);
          return all.some((e) => e.type === 'ferry.vm-operator.vm.stopped') ? all : undefined;
        },
        10_000,
        'vm.stopped in the outbox',
      );
      expect(events.find((e) => e.type === 'ferry.vm-operator.vm.state-changed')).toMatchObject({
        data: { from: 'running', to: 'stopped', reason: 'qemu not running (reconciled on request)' },
      });

      await setVmRow(vm.id, 'starting', null);
      const inFlight = await rpc<VmDto>(VmSubjects.RECONCILE, { id: vm.id });
      expect(inFlight.data).toMatchObject({ state: 'starting' });
      await setVmRow(vm.id, 'stopped', null);
    });

    it('answers NOT_FOUND for an unknown VM', async () => {
      const res = await rpc<VmDto>(VmSubjects.RECONCILE, { id: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b' });
      expect(res.error).toMatchObject({ code: 'NOT_FOUND' });
    });
  });
});
