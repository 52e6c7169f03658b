import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { VmDto, VmState } from '@ferry/contracts';
import { isProcessRunning } from '@ferry/platform';
import { eventually, randomName } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
  errors?: { field: string }[];
}

/** VMs through the gateway, run by real QEMU (KVM when available, TCG otherwise). */
describe('VMs through the gateway (real QEMU)', () => {
  let suite: Suite;
  const template = randomName('tpl');

  const waitForState = (id: string, state: VmState) => suite.waitForVmState(id, state);
  const createVm = async (name?: string) => {
    const res = await suite.request<VmDto>('POST', '/api/v1/vms', {
      body: name ? { template, name } : { template },
    });
    expect(res.status).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  it('creates, starts, restarts, stops and deletes a VM, with QEMU really running in between', async () => {
    const vm = await createVm(randomName('life'));
    expect(vm).toMatchObject({
      template,
      state: 'stopped',
      pid: null,
      local_ip: null,
      accelerator: null,
      qmp_healthy: null,
    });

    const start = await suite.request<{ state: string }>('POST', `/api/v1/vms/${vm.id}/actions/start`);
    expect(start.status).toBe(202);
    expect(start.headers.get('location')).toBe(`/api/v1/vms/${vm.id}`);
    expect(start.body.state).toBe('starting');
    const running = await waitForState(vm.id, 'running');
    expect(running.pid).toBeGreaterThan(0);
    expect(['kvm', 'tcg']).toContain(running.accelerator);
    expect(running.qmp_healthy).toBe(true);
    expect(isProcessRunning(running.pid)).toBe(true);

    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/restart`)).status).toBe(202);
    const restarted = await eventually(
      async () => {
        const r = await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`);
        return r.body.state === 'running' && r.body.pid !== running.pid ? r.body : undefined;
      },
      30_000,
      'restarted VM',
    );
    expect(isProcessRunning(running.pid)).toBe(false);

    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`)).status).toBe(202);
    const stopped = await waitForState(vm.id, 'stopped');
    expect(stopped.pid).toBeNull();
    expect(isProcessRunning(restarted.pid)).toBe(false);

    expect((await suite.request('DELETE', `/api/v1/vms/${vm.id}`)).status).toBe(204);
    expect((await suite.request('GET', `/api/v1/vms/${vm.id}`)).status).toBe(404);
  });

  it('runs a VM on the machine type of its template', async () => {
    const pc = randomName('pc');
    expect(
      (
        await suite.request('POST', '/api/v1/templates', {
          body: { name: pc, cpu_count: 1, ram_amount: 64, machine_type: 'pc' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await suite.request('POST', '/api/v1/templates', {
          body: { name: randomName('x'), cpu_count: 1, ram_amount: 64, machine_type: 'pc,accel=kvm' },
        })
      ).status,
    ).toBe(400);
    const vm = (await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template: pc } })).body;
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
    const running = await waitForState(vm.id, 'running');
    expect(readFileSync(`/proc/${running.pid}/cmdline`, 'utf8').split('\0')).toContain(
      `pc,accel=${running.accelerator}`,
    );
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`);
    await waitForState(vm.id, 'stopped');
  });

  it('lists VMs by state', async () => {
    const vm = await createVm();
    const stopped = await suite.request<VmDto[]>('GET', '/api/v1/vms?state=stopped');
    expect(stopped.body.map((v) => v.id)).toContain(vm.id);
    const running = await suite.request<VmDto[]>('GET', '/api/v1/vms?state=running');
    expect(running.body.map((v) => v.id)).not.toContain(vm.id);
    expect((await suite.request('GET', '/api/v1/vms?state=sleeping')).status).toBe(400);
  });

  it('refuses bad input, unknown things and invalid transitions, naming the states', async () => {
    const bad = await suite.request<Problem>('POST', '/api/v1/vms', {
      body: { template: 'has space', name: 'UPPER' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.map((e) => e.field).sort()).toEqual(['name', 'template']);
    expect(
      (await suite.request<Problem>('POST', '/api/v1/vms', { body: { template: 'no-such-template' } }))
        .status,
    ).toBe(404);
    expect((await suite.request('GET', `/api/v1/vms/${randomUUID()}`)).status).toBe(404);
    // Another system's id is 404 naming it, not a validation error (seed 002's ids are not UUIDs).
    for (const [method, path] of [
      ['GET', '/api/v1/vms/vm-12345678-test'],
      ['DELETE', '/api/v1/vms/vm-12345678-test'],
      ['POST', '/api/v1/vms/vm-12345678-test/actions/start'],
    ] as const) {
      const res = await suite.request<Problem>(method, path);
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 404, 'NOT_FOUND']);
      expect(res.body.detail).toBe('VM "vm-12345678-test" not found');
    }
    expect((await suite.request('GET', '/api/v1/vms/a%00b')).status).toBe(400);
    // Over-long: 400, or 414 when Fastify's own path-parameter limit (100) refuses it first.
    expect([400, 414]).toContain((await suite.request('GET', `/api/v1/vms/${'v'.repeat(129)}`)).status);
    const vm = await createVm();
    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/dance`)).status).toBe(400);

    const stop = await suite.request<Problem>('POST', `/api/v1/vms/${vm.id}/actions/stop`);
    expect(stop.status).toBe(409);
    expect(stop.body.detail).toMatch(/it is stopped.*running/);

    // Two actions at once on one VM: the second finds it starting.
    const [a, b] = await Promise.all([
      suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`),
      suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    await waitForState(vm.id, 'running');
    const again = await suite.request<Problem>('POST', `/api/v1/vms/${vm.id}/actions/start`);
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/it is running/);

    const inUse = await suite.request<Problem>('DELETE', `/api/v1/templates/${template}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.detail).toMatch(/used by/);

    // Delete stops a running VM first and leaves no QEMU behind.
    const { pid } = (await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body;
    expect((await suite.request('DELETE', `/api/v1/vms/${vm.id}`)).status).toBe(204);
    expect(isProcessRunning(pid)).toBe(false);
  });

  it('adopts running VMs after vm-operator is killed with SIGKILL, and still sees their QEMU exit', async () => {
    const [a, b] = [await createVm(), await createVm()];
    for (const vm of [a, b])
      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
    const pids = [(await waitForState(a.id, 'running')).pid, (await waitForState(b.id, 'running')).pid];

    await suite.process('vm-operator').stop('SIGKILL');
    expect(pids.every((pid) => isProcessRunning(pid))).toBe(true); // VMs outlive vm-operator
    await suite.startService('vm-operator');
    expect(suite.process('vm-operator').output.some((l) => l.includes('reconciled VMs'))).toBe(true);
    for (const [i, vm] of [a, b].entries()) {
      expect((await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body).toMatchObject({
        state: 'running',
        pid: pids[i],
      });
    }

    // The adopted VMs are watched again: a QEMU that dies now still turns its VM stopped.
    process.kill(pids[0]!, 'SIGKILL');
    await waitForState(a.id, 'stopped');
    expect((await suite.request('POST', `/api/v1/vms/${b.id}/actions/stop`)).status).toBe(202);
    await waitForState(b.id, 'stopped');
    expect(isProcessRunning(pids[1])).toBe(false);
  });

  it('leaves no VM starting for ever when vm-operator dies in the middle of a start', async () => {
    const vm = await createVm();
    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
    await suite.process('vm-operator').stop('SIGKILL');
    await suite.startService('vm-operator');
    const after = (await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body;
    // Either QEMU got going (adopted) or it did not (stopped); never stuck in between.
    expect(['running', 'stopped']).toContain(after.state);
    expect(isProcessRunning(after.pid)).toBe(after.state === 'running');
    if (after.state === 'running') {
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`);
      await waitForState(vm.id, 'stopped');
    }
  });

  it('marks VMs stopped when their QEMU died while vm-operator was down', async () => {
    const vm = await createVm();
    await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
    const { pid } = await waitForState(vm.id, 'running');
    await suite.process('vm-operator').stop('SIGKILL');
    process.kill(pid!, 'SIGKILL');
    await suite.startService('vm-operator');
    const after = (await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body;
    expect(after).toMatchObject({ state: 'stopped', pid: null });
  });

  it('sees a QEMU killed by hand: the VM turns stopped, with events', async () => {
    const vm = await createVm();
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${vm.id}`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
      const running = await waitForState(vm.id, 'running');
      await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.vm.started');
      // A frozen QEMU still has its process, but QMP does not answer.
      process.kill(running.pid!, 'SIGSTOP');
      expect((await suite.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).body).toMatchObject({
        state: 'running',
        qmp_healthy: false,
      });
      process.kill(running.pid!, 'SIGCONT');
      process.kill(running.pid!, 'SIGKILL');
      const stopped = await waitForState(vm.id, 'stopped');
      expect(stopped.pid).toBeNull();
      const change = await sse.waitFor(
        (m) =>
          m.data.type === 'ferry.vm-operator.vm.state-changed' &&
          (m.data.data as { reason: string }).reason === 'qemu exited',
      );
      expect(change.data.data).toMatchObject({ id: vm.id, from: 'running', to: 'stopped' });
      await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.vm.stopped');
    } finally {
      sse.close();
    }
  });
});
