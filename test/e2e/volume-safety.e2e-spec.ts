import type { DiskDto, RpcErrorBody, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { DeviceSubjects, volumeDeviceId } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { qmpBlockDevices, qmpQuery } from '../support/qmp';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
}

/** volume-daemon's promise of no lost volume: crashes mid-attach, and the test-failover cleanup. */
describe('volume safety (volume-daemon, real QEMU)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  const template = randomName('tpl');

  const vm = (state: 'running' | 'stopped'): Promise<VmDto> => suite.createVm(template, state);

  const disk = async (): Promise<DiskDto> =>
    (await suite.request<DiskDto>('POST', '/api/v1/disks', { body: { name: randomName('d'), size: 1 } }))
      .body;
  const getDisk = async (id: string) => (await suite.request<DiskDto>('GET', `/api/v1/disks/${id}`)).body;
  const operation = async (id: string) =>
    (await suite.request<VolumeOperationDto>('GET', `/api/v1/volume-operations/${id}`)).body;
  const settled = (id: string) => suite.waitForOperation(id);

  const attach = async (diskId: string, vmId: string) => {
    const res = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${diskId}/attach`, {
      body: { vmId },
    });
    expect(res.status).toBe(202);
    expect(await settled(res.body.id)).toMatchObject({ status: 'completed' });
  };
  const steps = (op: VolumeOperationDto) => op.steps.map((s) => `${s.name}:${s.status}`);
  /** The image file QEMU has open for a device, or undefined when it has no such device. */
  const fileInQemu = async (vmId: string, deviceId: string) => {
    const blocks = await qmpQuery<{ qdev?: string; inserted?: { file: string } }[]>(
      suite.vmRuntimeDir,
      vmId,
      'query-block',
    );
    return blocks.find((b) => b.qdev?.split('/').filter(Boolean)[0] === deviceId)?.inserted?.file;
  };

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

  it('ends an attach cut short by kill -9 of volume-daemon in-use or available, as QEMU shows it (20 times)', async () => {
    const running = await vm('running');
    const d = await disk();
    const delaysMs = [0, 1, 3, 6, 10, 20, 35];
    let resumed = 0;
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const accepted = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/attach`, {
        body: { vmId: running.id },
      });
      expect(accepted.status).toBe(202);
      await new Promise((r) => setTimeout(r, delaysMs[i % delaysMs.length]));
      await suite.process('volume-daemon').stop('SIGKILL');
      const restarted = await suite.startService('volume-daemon');

      const after = await eventually(
        async () => {
          const x = await getDisk(d.id);
          return x.operation_id === null ? x : undefined;
        },
        30_000,
        `disk settled after crash ${i}`,
      );
      const inQemu = (await qmpBlockDevices(suite.vmRuntimeDir, running.id)).includes(volumeDeviceId(d.id));
      expect({ i, state: after.state, inQemu }).toEqual({
        i,
        state: inQemu ? 'in-use' : 'available',
        inQemu,
      });
      const op = await settled(accepted.body.id);
      expect(op.status === 'completed').toBe(after.state === 'in-use');
      if (restarted.output.some((l) => l.includes('resuming work') && l.includes(accepted.body.id)))
        resumed++;
      outcomes.push(after.state);

      if (after.state === 'in-use') {
        const detached = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${d.id}/detach`);
        expect(detached.status).toBe(202);
        expect(await settled(detached.body.id)).toMatchObject({ status: 'completed' });
      }
      expect(await qmpBlockDevices(suite.vmRuntimeDir, running.id)).not.toContain(volumeDeviceId(d.id));
    }
    // The early kills land while the operation is in flight: the restarted daemon finishes those.
    expect(resumed).toBeGreaterThan(0);
    expect(outcomes).toHaveLength(20);
  }, 300_000);

  describe('test-failover cleanup (POST /cleanup/test-failover)', () => {
    it('answers the seed’s own example, whose ids Ferry does not know, with 404 naming each of them', async () => {
      const seed = {
        test_vm_id: 'vm-12345678-test',
        volume_id: 'vol-87654321',
        oma_vm_id: 'vm-oma-appliance',
        delete_vm: true,
        force_clean: false,
      };
      const res = await suite.request<Problem>('POST', '/api/v1/cleanup/test-failover', { body: seed });
      expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.detail).toBe(
        'not found: test_vm_id "vm-12345678-test", volume_id "vol-87654321", oma_vm_id "vm-oma-appliance"',
      );
      // Only what Ferry does not know is named; unsafe ids are still a validation error.
      const appliance = await vm('stopped');
      const known = await suite.request<Problem>('POST', '/api/v1/cleanup/test-failover', {
        body: { ...seed, oma_vm_id: appliance.id, volume_id: (await disk()).id },
      });
      expect([known.status, known.body.detail]).toEqual([404, 'not found: test_vm_id "vm-12345678-test"']);
      const unsafe = await suite.request<Problem>('POST', '/api/v1/cleanup/test-failover', {
        body: { ...seed, test_vm_id: 'vm-1/../../etc' },
      });
      expect([unsafe.status, unsafe.body.code]).toEqual([400, 'VALIDATION']);
    });

    it('refuses a running test VM without force_clean (409, nothing changes); with it, moves the volume to the appliance and deletes the test VM', async () => {
      const [appliance, testVm] = await Promise.all([vm('running'), vm('running')]);
      const d = await disk();
      await attach(d.id, testVm.id);
      const before = await getDisk(d.id);
      const body = { test_vm_id: testVm.id, volume_id: d.id, oma_vm_id: appliance.id, delete_vm: true };

      const refused = await suite.request<Problem>('POST', '/api/v1/cleanup/test-failover', {
        body: { ...body, force_clean: false },
      });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain('force_clean');
      expect(await getDisk(d.id)).toMatchObject({
        state: 'in-use',
        vm_id: testVm.id,
        generation: before.generation,
      });
      expect(await fileInQemu(testVm.id, volumeDeviceId(d.id))).toBe(before.path);

      const accepted = await suite.request<VolumeOperationDto>('POST', '/api/v1/cleanup/test-failover', {
        body: { ...body, force_clean: true },
      });
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('location')).toBe(`/api/v1/volume-operations/${accepted.body.id}`);
      const op = await settled(accepted.body.id);
      expect(op).toMatchObject({ status: 'completed', type: 'cleanup-test-failover', error: null });
      expect(steps(op)).toEqual([
        'check-power-state:done',
        'power-off:done',
        'verify-powered-off:done',
        'detach-from-test-vm:done',
        'verify-detached:done',
        'reattach-to-appliance:done',
        'verify-correlation:done',
        'delete-test-vm:done',
        'verify-test-vm-deleted:done',
      ]);
      expect(op.correlation).toMatchObject({
        vm_id: appliance.id,
        device_id: volumeDeviceId(d.id),
        live: true,
      });

      expect(await getDisk(d.id)).toMatchObject({
        state: 'in-use',
        vm_id: appliance.id,
        mount_point: op.correlation!.by_id_path,
      });
      expect(await fileInQemu(appliance.id, volumeDeviceId(d.id))).toBe(before.path);
      expect((await suite.request('GET', `/api/v1/vms/${testVm.id}`)).status).toBe(404);
    }, 90_000);

    it('puts the volume back on the appliance when the reattach fails once', async () => {
      const [appliance, testVm] = await Promise.all([vm('running'), vm('stopped')]);
      const d = await disk();
      await attach(d.id, testVm.id);
      // The appliance already has a device of that id with another image: the reattach is refused.
      const strayImage = join(suite.vmRuntimeDir, `${randomName('stray')}.qcow2`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', strayImage, '16M']);
      const stray = (await (
        await nc.request(
          DeviceSubjects.ATTACH,
          JSON.stringify({
            vmId: appliance.id,
            deviceId: volumeDeviceId(d.id),
            path: strayImage,
            format: 'qcow2',
            readOnly: false,
          }),
          { timeout: 15_000 },
        )
      ).json()) as { error?: RpcErrorBody };
      expect(stray.error).toBeUndefined();

      const accepted = await suite.request<VolumeOperationDto>('POST', '/api/v1/cleanup/test-failover', {
        body: {
          test_vm_id: testVm.id,
          volume_id: d.id,
          oma_vm_id: appliance.id,
          delete_vm: false,
          force_clean: false,
        },
      });
      expect(accepted.status).toBe(202);
      await eventually(
        async () =>
          steps(await operation(accepted.body.id)).includes('reattach-to-appliance:failed') || undefined,
        20_000,
        'the first reattach failed',
      );
      // The obstacle goes away; the daemon's emergency reattach must now succeed.
      const removed = (await (
        await nc.request(
          DeviceSubjects.DETACH,
          JSON.stringify({ vmId: appliance.id, deviceId: volumeDeviceId(d.id) }),
          {
            timeout: 15_000,
          },
        )
      ).json()) as { error?: RpcErrorBody };
      expect(removed.error).toBeUndefined();

      const op = await settled(accepted.body.id);
      expect(op.status).toBe('completed');
      expect(steps(op)).toEqual(
        expect.arrayContaining([
          'detach-from-test-vm:done',
          'reattach-to-appliance:failed',
          expect.stringMatching(/^emergency-reattach-\d+:done$/),
          'delete-test-vm:skipped',
        ]),
      );
      const after = await getDisk(d.id);
      expect(after).toMatchObject({ state: 'in-use', vm_id: appliance.id });
      expect(await fileInQemu(appliance.id, volumeDeviceId(d.id))).toBe(after.path);
      expect((await suite.request('GET', `/api/v1/vms/${testVm.id}`)).status).toBe(200);
    }, 90_000);
  });
});
