import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AttachedDeviceDto,
  DeviceListDto,
  PowerStateDto,
  RpcErrorBody,
  SnapshotDto,
  VmDto,
} from '@ferry/contracts';
import { DeviceSubjects } from '@ferry/contracts';
import { randomName } from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

/** The device primitives volume-daemon will use, over NATS, on real QEMU. */
describe('vm-operator device primitives (NATS, real QEMU)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  const template = randomName('tpl');

  async function rpc<T>(subject: string, body: unknown): Promise<{ data?: T; error?: RpcErrorBody }> {
    const reply = await nc.request(subject, JSON.stringify(body), { timeout: 15_000 });
    return reply.json();
  }
  const image = (name: string) => {
    const path = join(suite.vmRuntimeDir, `${name}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '16M']);
    return path;
  };
  const vmIn = async (state: 'running' | 'stopped') => {
    const vm = (await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template } })).body;
    if (state === 'running') {
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
      await suite.waitForVmState(vm.id, 'running');
    }
    return vm;
  };

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
    nc = await connect({ servers: suite.nats.url });
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
  });

  afterAll(async () => {
    await nc?.close();
    await suite?.dispose();
  });

  it('hot-plugs a qcow2 into a running VM, QMP shows it, and unplugs it', async () => {
    const vm = await vmIn('running');
    const path = image('hot');
    const sse = await SseClient.open(
      `${suite.gatewayUrl}/api/v1/events?subject=${vm.id}&type=ferry.vm-operator.vm.device-`,
      {
        authorization: `Bearer ${suite.adminKey}`,
      },
    );
    const attached = await rpc<AttachedDeviceDto>(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-1',
      path,
      format: 'qcow2',
      readOnly: false,
    });
    expect(attached.data).toMatchObject({ deviceId: 'vol-1', bus: 'scsi0.0', scsiId: 0, lun: 0, live: true });
    expect(attached.data?.byIdPath).toContain(attached.data?.serial);

    const listed = await rpc<DeviceListDto>(DeviceSubjects.LIST, { vmId: vm.id });
    expect(listed.data).toMatchObject({
      source: 'qmp',
      items: [{ deviceId: 'vol-1', path, format: 'qcow2', readOnly: false }],
    });

    // Attaching again is idempotent (volume-daemon retries after a crash); another image is a conflict.
    const again = await rpc<AttachedDeviceDto>(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-1',
      path,
      format: 'qcow2',
      readOnly: false,
    });
    expect(again.data).toEqual(attached.data);
    const other = await rpc(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-1',
      path: image('other'),
      format: 'qcow2',
      readOnly: false,
    });
    expect(other.error?.code).toBe('CONFLICT');

    // A VM with disks is deleted only after volume-daemon, their authority, detached them: it is not
    // running here, so the delete is 503 and the VM keeps running with its disk.
    const refused = await suite.request<{ code: string }>('DELETE', `/api/v1/vms/${vm.id}`);
    expect([refused.status, refused.body.code]).toEqual([503, 'UNAVAILABLE']);
    expect((await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body.state).toBe('running');

    expect((await rpc(DeviceSubjects.DETACH, { vmId: vm.id, deviceId: 'vol-1' })).data).toEqual({
      deviceId: 'vol-1',
    });
    expect((await rpc<DeviceListDto>(DeviceSubjects.LIST, { vmId: vm.id })).data?.items).toEqual([]);
    expect((await rpc(DeviceSubjects.DETACH, { vmId: vm.id, deviceId: 'vol-1' })).error?.code).toBe(
      'NOT_FOUND',
    );
    const attachedEvent = await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.vm.device-attached');
    expect(attachedEvent.data.data).toMatchObject({
      vmId: vm.id,
      path,
      device: { deviceId: 'vol-1', live: true },
    });
    const detachedEvent = await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.vm.device-detached');
    expect(detachedEvent.data.data).toEqual({ vmId: vm.id, deviceId: 'vol-1', live: true });
    sse.close();
  });

  it('cold-plugs into a stopped VM, which then starts with the disk', async () => {
    const vm = await vmIn('stopped');
    const path = image('cold');
    const attached = await rpc<AttachedDeviceDto>(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-2',
      path,
      format: 'qcow2',
      readOnly: true,
    });
    expect(attached.data).toMatchObject({ deviceId: 'vol-2', live: false, scsiId: 0 });
    expect((await rpc<DeviceListDto>(DeviceSubjects.LIST, { vmId: vm.id })).data).toMatchObject({
      source: 'record',
      items: [{ deviceId: 'vol-2', path, readOnly: true }],
    });

    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
    await suite.waitForVmState(vm.id, 'running');
    expect((await rpc<DeviceListDto>(DeviceSubjects.LIST, { vmId: vm.id })).data).toMatchObject({
      source: 'qmp',
      items: [{ deviceId: 'vol-2', path, readOnly: true }],
    });

    const power = await rpc<PowerStateDto>(DeviceSubjects.POWER_STATE, { vmId: vm.id });
    expect(power.data).toMatchObject({ state: 'running', running: true });
    expect(power.data?.pid).toBeGreaterThan(0);
  });

  let runningBefore = 0;
  beforeEach(() => {
    runningBefore = suite.qemuPids().length;
  });

  it('turns a start that QEMU refuses into state error with QEMU own words, leaving nothing behind', async () => {
    const vm = await vmIn('stopped');
    const missing = join(suite.vmRuntimeDir, 'missing.qcow2');
    await rpc(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'gone',
      path: missing,
      format: 'qcow2',
      readOnly: false,
    });
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
    const failed = await suite.waitForVmState(vm.id, 'error');
    expect(failed.last_error).toMatch(/qemu failed to start: .*missing\.qcow2/);
    expect(failed.pid).toBeNull();
    const dir = join(suite.vmRuntimeDir, vm.id);
    expect(existsSync(join(dir, 'qmp.sock')) || existsSync(join(dir, 'qemu.pid'))).toBe(false);
    expect(suite.qemuPids().length).toBe(runningBefore);

    // Fixed by detaching the bad disk; start is allowed from error; delete clears the runtime directory.
    await rpc(DeviceSubjects.DETACH, { vmId: vm.id, deviceId: 'gone' });
    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
    await suite.waitForVmState(vm.id, 'running');
    expect((await suite.request('DELETE', `/api/v1/vms/${vm.id}`)).status).toBe(204);
    expect(existsSync(dir)).toBe(false);
  });

  it('snapshots a disk for reading and consolidates it, live and offline; a stop commits what is left', async () => {
    const vm = await vmIn('running');
    const path = image('snap');
    await rpc(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-s',
      path,
      format: 'qcow2',
      readOnly: false,
    });

    const snap = await rpc<SnapshotDto>(DeviceSubjects.SNAPSHOT, { vmId: vm.id, deviceId: 'vol-s' });
    expect(snap.data).toMatchObject({ deviceId: 'vol-s', imagePath: path, live: true });
    expect(existsSync(snap.data!.overlayPath)).toBe(true);
    expect((await rpc(DeviceSubjects.SNAPSHOT, { vmId: vm.id, deviceId: 'vol-s' })).error?.code).toBe(
      'CONFLICT',
    );
    expect((await rpc(DeviceSubjects.DETACH, { vmId: vm.id, deviceId: 'vol-s' })).error?.code).toBe(
      'CONFLICT',
    );
    expect((await rpc(DeviceSubjects.CONSOLIDATE, { vmId: vm.id, deviceId: 'vol-s' })).data).toEqual({
      deviceId: 'vol-s',
    });
    expect(existsSync(snap.data!.overlayPath)).toBe(false);
    expect((await rpc(DeviceSubjects.CONSOLIDATE, { vmId: vm.id, deviceId: 'vol-s' })).error?.code).toBe(
      'CONFLICT',
    );

    // A snapshot still open when the VM stops is committed by the stop.
    const open = await rpc<SnapshotDto>(DeviceSubjects.SNAPSHOT, { vmId: vm.id, deviceId: 'vol-s' });
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`);
    await suite.waitForVmState(vm.id, 'stopped');
    expect(existsSync(open.data!.overlayPath)).toBe(false);

    // Offline, with qemu-img.
    const offline = await rpc<SnapshotDto>(DeviceSubjects.SNAPSHOT, { vmId: vm.id, deviceId: 'vol-s' });
    expect(offline.data?.live).toBe(false);
    expect(existsSync(offline.data!.overlayPath)).toBe(true);
    expect((await rpc(DeviceSubjects.CONSOLIDATE, { vmId: vm.id, deviceId: 'vol-s' })).data).toEqual({
      deviceId: 'vol-s',
    });
    expect(existsSync(offline.data!.overlayPath)).toBe(false);
  });

  it('refuses bad requests with VALIDATION naming the fields, and unknown VMs with NOT_FOUND', async () => {
    const bad = await rpc(DeviceSubjects.ATTACH, {
      vmId: 'x/../y',
      deviceId: 'A,B',
      path: 'relative,path',
      format: 'vmdk',
      readOnly: 'yes',
    });
    expect(bad.error?.code).toBe('VALIDATION');
    const fields = (bad.error?.details?.['fields'] as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['deviceId', 'format', 'path', 'readOnly', 'vmId']);
    // An image outside VM_STORAGE_DIRS is refused whoever asks, before the VM is even looked up.
    const shadow = await rpc(DeviceSubjects.ATTACH, {
      vmId: '00000000-0000-4000-8000-000000000000',
      deviceId: 'vol-shadow',
      path: '/etc/shadow',
      format: 'raw',
      readOnly: true,
    });
    expect(shadow.error).toMatchObject({ code: 'VALIDATION', details: { fields: [{ field: 'path' }] } });
    const unknown = await rpc(DeviceSubjects.LIST, { vmId: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.error?.code).toBe('NOT_FOUND');
    // An id in another system's form is a VM Ferry does not know, not a bad request.
    const other = await rpc(DeviceSubjects.POWER_STATE, { vmId: 'vm-12345678-test' });
    expect(other.error).toMatchObject({ code: 'NOT_FOUND', message: 'VM "vm-12345678-test" not found' });
  });
});
