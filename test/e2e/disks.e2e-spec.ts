import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import type { DiskDto, RpcErrorBody, VmDto, VmPowerDto, VolumeOperationDto } from '@ferry/contracts';
import { DeviceSubjects, DiskSubjects, volumeDeviceId } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { qmpBlockDevices } from '../support/qmp';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  status: number;
  code: string;
  detail: string;
  details?: Record<string, unknown>;
  errors?: { field: string; messages: string[] }[];
}

/** volume-daemon through the gateway, with real QEMU, qemu-img and files. */
describe('disks and volume operations (volume-daemon, real QEMU)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  const template = randomName('tpl');

  const vm = (state: 'running' | 'stopped'): Promise<VmDto> => suite.createVm(template, state);

  const disk = async (size = 1): Promise<DiskDto> => {
    const res = await suite.request<DiskDto>('POST', '/api/v1/disks', {
      body: { name: randomName('d'), size },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  const getDisk = async (id: string) => (await suite.request<DiskDto>('GET', `/api/v1/disks/${id}`)).body;
  const settled = (id: string) => suite.waitForOperation(id);

  const attach = async (diskId: string, vmId: string) => {
    const res = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${diskId}/attach`, {
      body: { vmId },
    });
    expect(res.status).toBe(202);
    const op = await settled(res.body.id);
    expect(op).toMatchObject({ status: 'completed' });
    return op;
  };
  const detach = async (diskId: string) => {
    const res = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${diskId}/detach`);
    expect(res.status).toBe(202);
    const op = await settled(res.body.id);
    expect(op).toMatchObject({ status: 'completed' });
    return op;
  };
  const rpc = async <T>(subject: string, body: unknown): Promise<{ data?: T; error?: RpcErrorBody }> =>
    (await nc.request(subject, JSON.stringify(body), { timeout: 40_000 })).json();
  const files = () => readdirSync(suite.diskDir).sort();

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'volume-daemon', 'gateway']);
    nc = await connect({ servers: suite.nats.url });
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await suite?.dispose();
  });

  it('creates a disk, hot-plugs it into a running VM (QEMU shows it), unplugs it and deletes it', async () => {
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.volume-daemon.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      const running = await vm('running');
      const created = await suite.request<DiskDto>('POST', '/api/v1/disks', {
        body: { name: randomName('data'), size: 2, format: 'qcow2' },
      });
      expect(created.status).toBe(201);
      const d = created.body;
      expect(created.headers.get('location')).toBe(`/api/v1/disks/${d.id}`);
      expect(d).toMatchObject({
        size: 2,
        size_bytes: 2 * 1024 ** 3,
        format: 'qcow2',
        state: 'available',
        vm_id: null,
      });
      expect(d.path).toBe(`${suite.diskDir}/${d.id}.qcow2`);
      expect(existsSync(d.path!)).toBe(true);

      // The path is for admins only.
      const viewer = await suite.keyWithRole('viewer');
      const asViewer = await suite.request<DiskDto>('GET', `/api/v1/disks/${d.id}`, { key: viewer });
      expect(asViewer.status).toBe(200);
      expect(asViewer.body).not.toHaveProperty('path');
      expect(asViewer.headers.get('etag')).toBe(`"${d.generation}"`);

      const accepted = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/attach`, {
        body: { vmId: running.id },
      });
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('location')).toBe(`/api/v1/volume-operations/${accepted.body.id}`);
      expect(accepted.body).toMatchObject({ type: 'attach', disk_id: d.id, vm_id: running.id });
      const op = await settled(accepted.body.id);
      expect(op).toMatchObject({ status: 'completed', error: null });
      expect(op.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
        'attach-device:done',
        'verify-device:done',
      ]);
      expect(op.correlation).toMatchObject({
        vm_id: running.id,
        device_id: volumeDeviceId(d.id),
        live: true,
      });
      expect(op.correlation!.by_id_path).toBe(
        `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_${volumeDeviceId(d.id).replace(/-/g, '').slice(0, 20)}`,
      );

      const inUse = await getDisk(d.id);
      expect(inUse).toMatchObject({
        state: 'in-use',
        vm_id: running.id,
        mount_point: op.correlation!.by_id_path,
      });
      expect(inUse.generation).toBeGreaterThan(d.generation);
      expect(await qmpBlockDevices(suite.vmRuntimeDir, running.id)).toContain(volumeDeviceId(d.id));
      const listed = await suite.request<DiskDto[]>('GET', `/api/v1/disks?vmId=${running.id}&state=in-use`);
      expect(listed.body.map((x) => x.id)).toEqual([d.id]);

      // Attached disks are not deleted.
      const refused = await suite.request<Problem>('DELETE', `/api/v1/disks/${d.id}`);
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(existsSync(d.path!)).toBe(true);

      await detach(d.id);
      expect(await getDisk(d.id)).toMatchObject({ state: 'available', vm_id: null, mount_point: null });
      expect(await qmpBlockDevices(suite.vmRuntimeDir, running.id)).not.toContain(volumeDeviceId(d.id));

      expect((await suite.request('DELETE', `/api/v1/disks/${d.id}`)).status).toBe(204);
      expect(existsSync(d.path!)).toBe(false);
      expect((await suite.request('GET', `/api/v1/disks/${d.id}`)).status).toBe(404);

      const types = (await eventually(
        () => {
          const seen = sse.messages.filter((m) => m.data.subject === d.id).map((m) => m.data.type);
          return seen.includes('ferry.volume-daemon.disk.deleted') ? seen : undefined;
        },
        10_000,
        'disk events',
      )) as string[];
      for (const t of ['created', 'attached', 'detached', 'deleted', 'state-changed'])
        expect(types).toContain(`ferry.volume-daemon.disk.${t}`);
      expect(types).toContain('ferry.volume-daemon.operation.completed');
    } finally {
      sse.close();
    }
  }, 90_000);

  it('lets exactly one of two concurrent attaches of one disk win; the loser learns which operation holds it', async () => {
    const [a, b] = await Promise.all([vm('stopped'), vm('stopped')]);
    const d = await disk();
    const results = await Promise.all(
      [a, b].map((v) =>
        suite.request<Partial<VolumeOperationDto> & Partial<Omit<Problem, 'status'>>>(
          'POST',
          `/api/v1/disks/${d.id}/attach`,
          {
            body: { vmId: v.id },
          },
        ),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    const winner = results.find((r) => r.status === 202)!.body as VolumeOperationDto;
    const loser = results.find((r) => r.status === 409)!.body as Omit<Problem, 'status'>;
    expect(loser.details).toMatchObject({ operationId: winner.id, operationType: 'attach' });
    expect(loser.detail).toContain(winner.id);
    await settled(winner.id);
    expect(await getDisk(d.id)).toMatchObject({ state: 'in-use', vm_id: winner.vm_id });
  }, 60_000);

  it('fences a stale detach with 409 and leaves the newer attachment alone', async () => {
    const [a, b] = await Promise.all([vm('stopped'), vm('stopped')]);
    const d = await disk();
    await attach(d.id, a.id);
    const seenWhileOnA = (await getDisk(d.id)).generation;
    // Someone else moves the disk on to B.
    await detach(d.id);
    await attach(d.id, b.id);
    const now = await getDisk(d.id);

    // The straggler's detach carries the generation it saw when the disk was on A.
    const stale = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/detach`, {
      headers: { 'if-match': `"${seenWhileOnA}"` },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.details).toMatchObject({
      generation: now.generation,
      expectedGeneration: seenWhileOnA,
    });
    const staleBody = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/detach`, {
      body: { expectedGeneration: seenWhileOnA },
    });
    expect(staleBody.status).toBe(409);
    expect(await getDisk(d.id)).toMatchObject({ state: 'in-use', vm_id: b.id, generation: now.generation });

    // With the current generation it goes through.
    const fresh = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/detach`, {
      headers: { 'if-match': `"${now.generation}"` },
    });
    expect(fresh.status).toBe(202);
    expect((await settled(fresh.body.id)).status).toBe('completed');
  }, 60_000);

  it('rolls a failed attach back to available, with the failure on the operation and in an event', async () => {
    const running = await vm('running');
    const d = await disk();
    // The VM already has a device of that id with another image: vm-operator refuses the attach.
    const stray = `${suite.vmRuntimeDir}/${randomName('stray')}.qcow2`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', stray, '16M']);
    const plugged = await rpc(DeviceSubjects.ATTACH, {
      vmId: running.id,
      deviceId: volumeDeviceId(d.id),
      path: stray,
      format: 'qcow2',
      readOnly: false,
    });
    expect(plugged.error).toBeUndefined();
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${d.id}`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      const accepted = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/attach`, {
        body: { vmId: running.id },
      });
      expect(accepted.status).toBe(202);
      const op = await settled(accepted.body.id);
      expect(op).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' } });
      expect(op.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
        'attach-device:failed',
        'roll-back:done',
      ]);
      const failed = await sse.waitFor((m) => m.data.type === 'ferry.volume-daemon.operation.failed');
      expect(failed.data.data).toMatchObject({ operation: { id: op.id, status: 'failed' } });
    } finally {
      sse.close();
    }
    const after = await getDisk(d.id);
    expect(after).toMatchObject({ state: 'available', vm_id: null, operation_id: null });
    expect(after.last_error).toContain('another image');
    // The stray device is the VM's own business: the roll-back did not unplug an image that is not ours.
    expect(await qmpBlockDevices(suite.vmRuntimeDir, running.id)).toContain(volumeDeviceId(d.id));
  }, 60_000);

  it('refuses bad input with a clear 4xx and leaves no file behind', async () => {
    const before = files();
    const cases: [unknown, number, string][] = [
      [{ name: 'neg', size: -1 }, 400, 'size'],
      [{ name: 'zero', size: 0 }, 400, 'size'],
      [{ name: 'huge', size: 10_000_000 }, 400, 'size'],
      [{ name: 'half', size: 1.5 }, 400, 'size'],
      [{ name: '../etc/passwd', size: 1 }, 400, 'name'],
      [{ name: 'a/b', size: 1 }, 400, 'name'],
      [{ name: 'ok', size: 1, format: 'vmdk' }, 400, 'format'],
      [{ name: 'ok', size: 1, path: '/etc/shadow' }, 400, 'path'],
    ];
    for (const [body, status, field] of cases) {
      const res = await suite.request<Problem>('POST', '/api/v1/disks', { body });
      expect({ body, status: res.status }).toEqual({ body, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(res.body)).toContain(`"field":"${field}"`);
    }
    const d = await disk();
    const unknownVm = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vmId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(unknownVm.status).toBe(404);
    expect(unknownVm.body.detail).toContain('00000000-0000-4000-8000-000000000000');
    expect(await getDisk(d.id)).toMatchObject({ state: 'available', generation: d.generation });
    const duplicate = await suite.request<Problem>('POST', '/api/v1/disks', {
      body: { name: d.name, size: 1 },
    });
    expect(duplicate.status).toBe(409);
    // An id Ferry does not know is 404 naming it, whatever its shape; only unsafe ids are 400.
    const otherIds = await suite.request<Problem>('POST', `/api/v1/disks/vol-87654321/detach`);
    expect([otherIds.status, otherIds.body.code]).toEqual([404, 'NOT_FOUND']);
    expect(otherIds.body.detail).toContain('vol-87654321');
    const unknownVmName = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vmId: 'vm-12345678-test' },
    });
    expect([unknownVmName.status, unknownVmName.body.detail]).toEqual([
      404,
      'VM "vm-12345678-test" not found',
    ]);
    for (const path of ['/api/v1/disks/vol-87654321', '/api/v1/volume-operations/op-1']) {
      const res = await suite.request<Problem>('GET', path);
      expect([path, res.status, res.body.code]).toEqual([path, 404, 'NOT_FOUND']);
      expect(res.body.detail).toContain(path.split('/').pop()!);
    }
    expect((await suite.request<DiskDto[]>('GET', '/api/v1/disks?vmId=vm-1001')).body).toEqual([]);
    const tooLong = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vmId: 'x'.repeat(129) },
    });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'VALIDATION']);
    expect((await suite.request('GET', `/api/v1/disks/a%0Ab`)).status).toBe(400);
    expect((await suite.request('GET', `/api/v1/disks/a%2Fb`)).status).toBe(400);
    expect(
      (await suite.request('GET', '/api/v1/volume-operations/00000000-0000-4000-8000-000000000000')).status,
    ).toBe(404);
    expect(files()).toEqual([...before, `${d.id}.qcow2`].sort());
  }, 30_000);

  it("takes seed 004's bodies: a disk without a name is named disk-<8 chars of its id>, and attach takes vm_id", async () => {
    const target = await vm('stopped');
    const created = await suite.request<DiskDto>('POST', '/api/v1/disks', { body: { size: 1 } });
    expect(created.status).toBe(201);
    const d = created.body;
    expect(d.name).toBe(`disk-${d.id.slice(0, 8)}`);
    expect(d).toMatchObject({ size: 1, state: 'available', vm_id: null, mount_point: null });
    expect(await getDisk(d.id)).toMatchObject({ name: d.name });
    // The name it was given is a name like any other: a second disk cannot take it.
    const taken = await suite.request<Problem>('POST', '/api/v1/disks', { body: { name: d.name, size: 1 } });
    expect([taken.status, taken.body.code]).toEqual([409, 'CONFLICT']);

    // One of vm_id and vmId is required, and two must agree: a 400 naming the fields, nothing changed.
    const refusals: [object, string, string][] = [
      [{}, 'vmId', 'vmId or vm_id is required'],
      [{ vm_id: target.id, vmId: '00000000-0000-4000-8000-000000000000' }, 'vm_id', 'vm_id must equal vmId'],
      [{ vm_id: 'a/b' }, 'vm_id', 'vm_id must be 1-128 characters'],
    ];
    for (const [body, field, message] of refusals) {
      const res = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/attach`, { body });
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 400,
        code: 'VALIDATION',
      });
      expect(res.body.errors?.map((e) => e.field)).toEqual([field]);
      expect(res.body.errors?.[0]?.messages.join('; ')).toContain(message);
    }
    // Fencing holds for a seed body too: a stale generation is 409.
    const stale = await suite.request<Problem>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vm_id: target.id },
      headers: { 'if-match': `"${d.generation + 1}"` },
    });
    expect(stale.status).toBe(409);
    expect(await getDisk(d.id)).toMatchObject({ state: 'available', vm_id: null, generation: d.generation });

    const accepted = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vm_id: target.id, expectedGeneration: d.generation },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ type: 'attach', disk_id: d.id, vm_id: target.id });
    expect(await settled(accepted.body.id)).toMatchObject({ status: 'completed' });
    expect(await getDisk(d.id)).toMatchObject({ state: 'in-use', vm_id: target.id });

    // Both names at once, equal, are one VM.
    await detach(d.id);
    const both = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/attach`, {
      body: { vm_id: target.id, vmId: target.id },
    });
    expect(both.status).toBe(202);
    expect(await settled(both.body.id)).toMatchObject({ status: 'completed', vm_id: target.id });
  }, 60_000);

  it('deletes a running VM with disks (seed 004): stopped, each disk detached by volume-daemon and left available, then gone', async () => {
    const running = await vm('running');
    const [a, b] = await Promise.all([disk(), disk()]);
    await attach(a.id, running.id);
    await attach(b.id, running.id);
    const res = await suite.request('DELETE', `/api/v1/vms/${running.id}`);
    expect(res.status).toBe(204);
    expect((await suite.request('GET', `/api/v1/vms/${running.id}`)).status).toBe(404);
    expect(suite.qemuPids()).not.toContain(running.pid);
    for (const d of [a, b]) {
      expect(await getDisk(d.id)).toMatchObject({ state: 'available', vm_id: null, mount_point: null });
      expect(files()).toContain(`${d.id}.qcow2`);
    }
    // Through volume-daemon's own detach operations, one per disk, recorded like any other.
    const ops = await suite.query<{ disk_id: string; status: string }>(
      `SELECT disk_id, status FROM volume.operations WHERE type = 'detach' AND disk_id = ANY($1)`,
      [[a.id, b.id]],
    );
    expect(ops.map((o) => `${o.disk_id}:${o.status}`).sort()).toEqual(
      [`${a.id}:completed`, `${b.id}:completed`].sort(),
    );
  }, 60_000);

  it('stops a VM whose disk cannot be detached but does not delete it, and names that disk; a retry finishes', async () => {
    const running = await vm('running');
    const [a, b] = await Promise.all([disk(), disk()]);
    await attach(a.id, running.id);
    const held = await attach(b.id, running.id);
    // Another operation holds disk b (as if one were in flight): volume-daemon must refuse to detach it.
    await suite.query('UPDATE volume.disks SET operation_id = $2 WHERE id = $1', [b.id, held.id]);
    const res = await suite.request<Problem>('DELETE', `/api/v1/vms/${running.id}`);
    expect([res.status, res.body.code]).toEqual([409, 'CONFLICT']);
    expect(res.body.detail).toContain(`VM "${running.name}" is stopped but not deleted`);
    expect(res.body.detail).toContain(`detached 1 of 2 disk(s)`);
    expect(res.body.detail).toContain(`disk "${b.name}" (${b.id})`);
    expect((await suite.request<VmDto>('GET', `/api/v1/vms/${running.id}`)).body.state).toBe('stopped');
    expect(await getDisk(a.id)).toMatchObject({ state: 'available', vm_id: null });
    expect(await getDisk(b.id)).toMatchObject({ state: 'in-use', vm_id: running.id });

    await suite.query('UPDATE volume.disks SET operation_id = NULL WHERE id = $1', [b.id]);
    expect((await suite.request('DELETE', `/api/v1/vms/${running.id}`)).status).toBe(204);
    expect(await getDisk(b.id)).toMatchObject({ state: 'available', vm_id: null });
  }, 60_000);

  it('refuses to delete a VM with disks while volume-daemon is down (503), changing nothing', async () => {
    const running = await vm('running');
    const d = await disk();
    await attach(d.id, running.id);
    await suite.process('volume-daemon').stop();
    try {
      const res = await suite.request<Problem>('DELETE', `/api/v1/vms/${running.id}`);
      expect([res.status, res.body.code]).toEqual([503, 'UNAVAILABLE']);
      expect((await suite.request<VmDto>('GET', `/api/v1/vms/${running.id}`)).body.state).toBe('running');
    } finally {
      await suite.startService('volume-daemon');
    }
    expect(await getDisk(d.id)).toMatchObject({ state: 'in-use', vm_id: running.id });
    expect((await suite.request('DELETE', `/api/v1/vms/${running.id}`)).status).toBe(204);
  }, 60_000);

  it('serves the power-state checks over NATS: state, validate-powered-off, power-off', async () => {
    const running = await vm('running');
    expect((await rpc<VmPowerDto>(DiskSubjects.POWER_STATE, { vmId: running.id })).data).toMatchObject({
      vmId: running.id,
      state: 'running',
      running: true,
    });
    expect((await rpc(DiskSubjects.VALIDATE_POWERED_OFF, { vmId: running.id })).error).toMatchObject({
      code: 'CONFLICT',
    });
    const off = await rpc<VmPowerDto>(DiskSubjects.POWER_OFF, { vmId: running.id, timeoutMs: 20_000 });
    expect(off.data).toMatchObject({ running: false, state: 'stopped' });
    expect(
      (await rpc<VmPowerDto>(DiskSubjects.VALIDATE_POWERED_OFF, { vmId: running.id })).data,
    ).toMatchObject({
      running: false,
    });
    expect(suite.qemuPids()).not.toContain(
      (await suite.request<VmDto>('GET', `/api/v1/vms/${running.id}`)).body.pid,
    );
    expect(
      (await rpc(DiskSubjects.POWER_STATE, { vmId: '00000000-0000-4000-8000-000000000000' })).error,
    ).toMatchObject({ code: 'NOT_FOUND' });
  }, 60_000);
});
