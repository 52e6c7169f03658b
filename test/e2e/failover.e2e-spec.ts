import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { DiskDto, FailoverJobDto, FailoverJobStatus, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { volumeDeviceId } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import { qmpBlockDevices } from '../support/qmp';
import { holdImage } from '../support/hold-image';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
  errors?: { field: string }[];
}

const ENDED: FailoverJobStatus[] = ['test_active', 'cleanup_completed', 'failed', 'cleanup_failed'];

/** Seed 002 end to end: test failover and its cleanup through the gateway, real QEMU VMs and disks. */
describe('test failover and cleanup (cleanup service, real QEMU)', () => {
  let suite: Suite;
  let appliance: VmDto;
  const template = randomName('tpl');

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'volume-daemon', 'cleanup', 'gateway']);
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    appliance = await suite.createVm(template, 'running', Suite.APPLIANCE);
  }, 90_000);

  afterAll(async () => {
    await suite?.dispose();
  });

  /** A migrated VM: `count` volumes named `<name>-disk<N>`, attached to the appliance. */
  async function migratedVm(count: number): Promise<{ name: string; disks: DiskDto[] }> {
    const name = randomName('src');
    const disks: DiskDto[] = [];
    for (let i = 0; i < count; i++) {
      const created = await suite.request<DiskDto>('POST', '/api/v1/disks', {
        body: { name: `${name}-disk${i}`, size: 1 },
      });
      expect(created.status).toBe(201);
      const op = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${created.body.id}/attach`, {
        body: { vmId: appliance.id },
      });
      expect(await suite.waitForOperation(op.body.id)).toMatchObject({ status: 'completed' });
      disks.push(created.body);
    }
    return { name, disks };
  }

  const job = async (id: string) =>
    (await suite.request<FailoverJobDto>('GET', `/api/v1/failover/jobs/${id}`)).body;

  /** Polls the job until it is `status`; fails at once when it ends in another status. */
  async function waitJob(id: string, status: FailoverJobStatus, timeoutMs = 90_000): Promise<FailoverJobDto> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = await job(id);
      if (j.status === status) return j;
      if (ENDED.includes(j.status) && !(j.status === 'test_active' && status !== 'test_active'))
        throw new Error(`job ${id} is ${j.status}, not ${status}: ${JSON.stringify(j.error)}`);
      if (Date.now() > deadline) throw new Error(`job ${id} still ${j.status}: ${JSON.stringify(j.steps)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const startFailover = (name: string, headers: Record<string, string> = {}) =>
    suite.request<FailoverJobDto>('POST', `/api/v1/failover/test/${name}`, { body: { template }, headers });
  const startCleanup = (name: string) =>
    suite.request<FailoverJobDto>('POST', `/api/v1/failover/cleanup/${name}`);

  /** How many times each disk's device is plugged into the appliance's QEMU (asked over QMP). */
  async function onAppliance(disks: DiskDto[]): Promise<number[]> {
    const devices = await qmpBlockDevices(suite.vmRuntimeDir, appliance.id);
    return disks.map((d) => devices.filter((id) => id === volumeDeviceId(d.id)).length);
  }

  /** Each volume is on the appliance exactly once, by QEMU's account and by volume-daemon's. */
  async function expectAllHome(disks: DiskDto[]): Promise<void> {
    expect(await onAppliance(disks)).toEqual(disks.map(() => 1));
    for (const d of disks) {
      const now = (await suite.request<DiskDto>('GET', `/api/v1/disks/${d.id}`)).body;
      expect(now).toMatchObject({ state: 'in-use', vm_id: appliance.id, operation_id: null });
    }
  }

  const stepStates = (j: FailoverJobDto, phase: 'failover' | 'cleanup') =>
    j.steps.filter((s) => s.phase === phase).map((s) => `${s.key}:${s.status}`);

  it('fails over to a running test VM, then cleans up: volumes back on the appliance, test VM gone, every step an event', async () => {
    const { name, disks } = await migratedVm(2);
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.cleanup.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      const res = await startFailover(name);
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toBe(`/api/v1/failover/jobs/${res.body.id}`);
      expect(res.body).toMatchObject({
        vm_name: name,
        type: 'test',
        template,
        appliance_vm_id: appliance.id,
        volumes: disks.map((d) => ({ id: d.id, name: d.name })),
        requested_by: expect.any(String),
      });
      expect(res.body.test_vm_name).toMatch(new RegExp(`^${name}-test-[0-9a-f]{8}$`));

      const active = await waitJob(res.body.id, 'test_active');
      expect(stepStates(active, 'failover')).toEqual([
        'create-test-vm:done',
        `move-volume:${disks[0]!.name}:done`,
        `move-volume:${disks[1]!.name}:done`,
        'start-test-vm:done',
      ]);
      const testVmId = active.test_vm_id!;
      expect((await suite.request<VmDto>('GET', `/api/v1/vms/${testVmId}`)).body.state).toBe('running');
      const onTest = await qmpBlockDevices(suite.vmRuntimeDir, testVmId);
      expect(disks.every((d) => onTest.includes(volumeDeviceId(d.id)))).toBe(true);
      expect(await onAppliance(disks)).toEqual([0, 0]);

      // The test VM still runs: the cleanup powers it off first.
      const cleanup = await startCleanup(name);
      expect(cleanup.status).toBe(202);
      expect(cleanup.body).toMatchObject({ id: res.body.id, status: 'cleanup_running', phase: 'cleanup' });
      const done = await waitJob(res.body.id, 'cleanup_completed');
      expect(stepStates(done, 'cleanup')).toEqual([
        'validate:done',
        'check-power-state:done',
        'power-off:done',
        'verify-powered-off:done',
        `return-volume:${disks[0]!.name}:done`,
        `return-volume:${disks[1]!.name}:done`,
        'verify-appliance:done',
        'delete-test-vm:done',
        'verify-test-vm-deleted:done',
      ]);
      expect(done.steps.find((s) => s.key === 'check-power-state')!.detail).toMatch(/running/);
      expect(done.steps.every((s) => s.started_at && s.finished_at && s.attempts === 1)).toBe(true);
      expect(done.error).toBeNull();
      await expectAllHome(disks);
      expect((await suite.request('GET', `/api/v1/vms/${testVmId}`)).status).toBe(404);

      // A subscriber sees every status change and every step, in order.
      const statuses = await eventually(() => {
        const seen = sse.messages
          .filter((m) => m.data.type === 'ferry.cleanup.job.status-changed' && m.data.subject === res.body.id)
          .map((m) => (m.data.data as { to: string }).to);
        return seen.includes('cleanup_completed') ? seen : undefined;
      });
      expect(statuses).toEqual(['pending', 'running', 'test_active', 'cleanup_running', 'cleanup_completed']);
      const stepEvents = sse.messages
        .filter((m) => m.data.type === 'ferry.cleanup.job.step-changed' && m.data.subject === res.body.id)
        .map((m) => {
          const step = (m.data.data as { step: { key: string; status: string } }).step;
          return `${step.key}:${step.status}`;
        });
      for (const s of done.steps)
        expect(stepEvents).toEqual(expect.arrayContaining([`${s.key}:running`, `${s.key}:done`]));
    } finally {
      sse.close();
    }
  }, 120_000);

  it('rolls a failover back when the test VM cannot start: volumes home, test VM gone, job failed', async () => {
    // QEMU cannot reserve 16 TiB of guest memory, so the test VM's start really fails.
    const giant = randomName('giant');
    await suite.request('POST', '/api/v1/templates', {
      body: { name: giant, cpu_count: 1, ram_amount: 16 * 1024 * 1024 },
    });
    const { name, disks } = await migratedVm(2);
    const res = await suite.request<FailoverJobDto>('POST', `/api/v1/failover/test/${name}`, {
      body: { template: giant },
    });
    expect(res.status).toBe(202);
    const failed = await waitJob(res.body.id, 'failed');
    expect(stepStates(failed, 'failover')).toEqual([
      'create-test-vm:done',
      `move-volume:${disks[0]!.name}:done`,
      `move-volume:${disks[1]!.name}:done`,
      'start-test-vm:failed',
    ]);
    expect(stepStates(failed, 'cleanup')).toEqual(
      expect.arrayContaining([
        `return-volume:${disks[0]!.name}:done`,
        `return-volume:${disks[1]!.name}:done`,
        'delete-test-vm:done',
      ]),
    );
    expect(failed.error!.message).toMatch(/did not start.*rolled back/s);
    await expectAllHome(disks);
    expect((await suite.request('GET', `/api/v1/vms/${failed.test_vm_id}`)).status).toBe(404);
    // The VM is free again: a new failover may start.
    expect(
      (await suite.request('GET', `/api/v1/failover/jobs?vm_name=${name}&status=failed`)).body,
    ).toHaveLength(1);
  }, 120_000);

  it('refuses bad input with a clear 4xx and records nothing', async () => {
    const before = (await suite.request<FailoverJobDto[]>('GET', '/api/v1/failover/jobs')).body.length;
    const expectProblem = async (
      res: Promise<{ status: number; headers: Headers; body: unknown }>,
      status: number,
      code: string,
    ) => {
      const r = await res;
      expect([r.status, (r.body as Problem).code]).toEqual([status, code]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      return r.body as Problem;
    };

    const unknown = randomName('nosuchvm');
    expect((await expectProblem(startFailover(unknown), 404, 'NOT_FOUND')).detail).toContain(unknown);
    await expectProblem(startCleanup(unknown), 404, 'NOT_FOUND');
    // (A bare `..` never gets here: the HTTP client resolves dot segments before sending.)
    for (const bad of ['..%2F..%2Fetc', 'a%2Fb', 'a%5Cb', 'has%20space', '-lead', 'x'.repeat(50)]) {
      await expectProblem(startFailover(bad), 400, 'VALIDATION');
      await expectProblem(startCleanup(bad), 400, 'VALIDATION');
    }

    const { name } = await migratedVm(1);
    const noTemplate = await expectProblem(
      suite.request('POST', `/api/v1/failover/test/${name}`, { body: {} }),
      400,
      'VALIDATION',
    );
    expect(noTemplate.errors?.map((e) => e.field)).toEqual(['template']);
    const missing = await expectProblem(
      suite.request('POST', `/api/v1/failover/test/${name}`, { body: { template: 'no-such-template' } }),
      422,
      'UNPROCESSABLE',
    );
    expect(missing.detail).toContain('no-such-template');
    const unknownVolume = await expectProblem(
      suite.request('POST', `/api/v1/failover/test/${name}`, {
        body: { template, volumes: ['vol-87654321'] },
      }),
      404,
      'NOT_FOUND',
    );
    expect(unknownVolume.detail).toContain('vol-87654321');
    await expectProblem(
      suite.request('POST', `/api/v1/failover/test/${name}`, { body: { template, volumes: ['a/b'] } }),
      400,
      'VALIDATION',
    );
    await expectProblem(
      suite.request('POST', `/api/v1/failover/test/${name}`, { body: { template, volumes: [randomUUID()] } }),
      404,
      'NOT_FOUND',
    );
    const unknownJob = await expectProblem(
      suite.request('GET', '/api/v1/failover/jobs/job-42'),
      404,
      'NOT_FOUND',
    );
    expect(unknownJob.detail).toContain('job-42');
    await expectProblem(suite.request('POST', '/api/v1/failover/jobs/job-42/resume'), 404, 'NOT_FOUND');
    await expectProblem(suite.request('GET', '/api/v1/failover/jobs/a%2Fb'), 400, 'VALIDATION');
    await expectProblem(suite.request('GET', `/api/v1/failover/jobs/${randomUUID()}`), 404, 'NOT_FOUND');
    await expectProblem(
      suite.request('POST', `/api/v1/failover/jobs/${randomUUID()}/resume`),
      404,
      'NOT_FOUND',
    );
    await expectProblem(suite.request('GET', '/api/v1/failover/jobs?status=bogus'), 400, 'VALIDATION');

    expect((await suite.request<FailoverJobDto[]>('GET', '/api/v1/failover/jobs')).body).toHaveLength(before);
  }, 60_000);

  it('returns the same job for an Idempotency-Key, holds the VM across requests, and runs one of two cleanups at once', async () => {
    const { name } = await migratedVm(1);
    const key = randomName('idem');
    const first = await startFailover(name, { 'idempotency-key': key });
    const again = await startFailover(name, { 'idempotency-key': key });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body.id).toBe(first.body.id);
    const second = await startFailover(name);
    expect(second.status).toBe(409);
    expect((second.body as unknown as Problem).detail).toContain(first.body.id);
    const listed = await suite.request<FailoverJobDto[]>('GET', `/api/v1/failover/jobs?vm_name=${name}`);
    expect(listed.body.map((j) => j.id)).toEqual([first.body.id]);

    await waitJob(first.body.id, 'test_active');
    const resumeActive = await suite.request('POST', `/api/v1/failover/jobs/${first.body.id}/resume`);
    expect(resumeActive.status).toBe(409);

    const both = await Promise.all([startCleanup(name), startCleanup(name)]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    await waitJob(first.body.id, 'cleanup_completed');
    expect((await startCleanup(name)).status).toBe(404);
    expect((await suite.request('POST', `/api/v1/failover/jobs/${first.body.id}/resume`)).status).toBe(409);
    const filtered = await suite.request<FailoverJobDto[]>(
      'GET',
      `/api/v1/failover/jobs?vm_name=${name}&status=cleanup_completed`,
    );
    expect(filtered.body.map((j) => j.id)).toEqual([first.body.id]);
  }, 120_000);

  it('ends cleanup_failed with an exact report when an image is held open, loses no volume, and resume completes it', async () => {
    const { name, disks } = await migratedVm(2);
    const started = await startFailover(name);
    const active = await waitJob(started.body.id, 'test_active');
    const testVmId = active.test_vm_id!;
    // The user stopped the test VM; then a stray process opened one image, so QEMU's image lock
    // makes the appliance's attach really fail.
    await suite.request('POST', `/api/v1/vms/${testVmId}/actions/stop`);
    await suite.waitForVmState(testVmId, 'stopped');
    const path = (await suite.request<DiskDto>('GET', `/api/v1/disks/${disks[0]!.id}`)).body.path!;
    const release = await holdImage(path);
    try {
      expect((await startCleanup(name)).status).toBe(202);
      const failed = await waitJob(started.body.id, 'cleanup_failed', 120_000);
      expect(failed.error!.message).toMatch(/lock/);
      expect(failed.error!.volumes).toEqual([
        expect.objectContaining({
          volume_id: disks[0]!.id,
          volume_name: disks[0]!.name,
          state: 'error',
          vm_id: null,
          where: 'attached to no VM (error)',
        }),
      ]);
      expect(failed.error!.volumes![0]!.action).toContain(`POST /api/v1/failover/jobs/${failed.id}/resume`);
      expect(stepStates(failed, 'cleanup')).toEqual([
        'validate:done',
        'check-power-state:done',
        'power-off:skipped',
        'verify-powered-off:done',
        `return-volume:${disks[0]!.name}:failed`,
        `return-volume:${disks[1]!.name}:done`,
        'verify-appliance:pending',
        'delete-test-vm:pending',
        'verify-test-vm-deleted:pending',
      ]);
      // Nothing is lost: the image is still there, the other volume is home, the test VM is kept.
      expect(existsSync(path)).toBe(true);
      expect(await onAppliance(disks)).toEqual([0, 1]);
      expect((await suite.request('GET', `/api/v1/vms/${testVmId}`)).status).toBe(200);
    } finally {
      await release();
    }

    const resumed = await suite.request<FailoverJobDto>(
      'POST',
      `/api/v1/failover/jobs/${started.body.id}/resume`,
    );
    expect([resumed.status, resumed.body.status]).toEqual([202, 'cleanup_running']);
    const done = await waitJob(started.body.id, 'cleanup_completed');
    expect(done.steps.find((s) => s.key === `return-volume:${disks[0]!.name}`)!.attempts).toBe(2);
    expect(done.steps.find((s) => s.key === `return-volume:${disks[1]!.name}`)!.attempts).toBe(1);
    await expectAllHome(disks);
    expect((await suite.request('GET', `/api/v1/vms/${testVmId}`)).status).toBe(404);
  }, 180_000);

  it('survives a kill -9 at every step boundary: the job completes, no step runs twice, each volume is home once', async () => {
    const keys = (disks: DiskDto[]) => [
      'create-test-vm',
      ...disks.map((d) => `move-volume:${d.name}`),
      'start-test-vm',
      'validate',
      'check-power-state',
      'power-off',
      'verify-powered-off',
      ...disks.map((d) => `return-volume:${d.name}`),
      'verify-appliance',
      'delete-test-vm',
      'verify-test-vm-deleted',
    ];
    const failoverSteps = 4;
    const boundaries = 13; // 4 failover steps and 9 cleanup steps, with two volumes
    for (let i = 0; i < boundaries; i++) {
      const { name, disks } = await migratedVm(2);
      const all = keys(disks);
      expect(all).toHaveLength(boundaries);
      const boundary = all[i]!;
      await suite.process('cleanup').stop('SIGTERM');
      const paused = await suite.startService('cleanup', { CLEANUP_PAUSE_AFTER_STEP: boundary });
      const started = await startFailover(name);
      expect(started.status).toBe(202);
      if (i < failoverSteps) {
        await paused.waitFor(/paused at failpoint/);
        await paused.stop('SIGKILL');
        await suite.startService('cleanup');
        await waitJob(started.body.id, 'test_active');
        expect((await startCleanup(name)).status).toBe(202);
      } else {
        await waitJob(started.body.id, 'test_active');
        expect((await startCleanup(name)).status).toBe(202);
        await paused.waitFor(/paused at failpoint/);
        await paused.stop('SIGKILL');
        await suite.startService('cleanup');
      }
      const done = await waitJob(started.body.id, 'cleanup_completed');
      expect({ boundary, steps: done.steps.map((s) => `${s.key}:${s.status}:${s.attempts}`) }).toEqual({
        boundary,
        steps: all.map((k) => `${k}:done:1`),
      });
      await expectAllHome(disks);
      expect((await suite.request('GET', `/api/v1/vms/${done.test_vm_id}`)).status).toBe(404);
    }
  }, 900_000);
});
