import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { InspectionStatusDto, InspectorStatusDto } from '@ferry/contracts';
import { InspectorEvents } from '@ferry/contracts';
import type { ManagedProcess } from '@ferry/testing';
import { eventually, freePort, randomName, spawnService } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
  status: number;
}

/**
 * Seed 000's queue through the gateway, with the zero-cost `noop` work unit (the seed's own tests use
 * a mock work builder with a delay and per-VM errors): order, PATCH, per-VM cancel, stop, 404 and 423.
 */
describe('inspector queue (seed 000) through the gateway', () => {
  let suite: Suite;
  let sse: SseClient;

  beforeAll(async () => {
    suite = await Suite.start(['gateway']);
    // Open the stream before the inspector starts, so that no event is missed.
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.inspector.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    await suite.startService('inspector');
  }, 60_000);

  afterAll(async () => {
    sse?.close();
    await suite?.dispose();
  });

  const status = async () => (await suite.request<InspectorStatusDto>('GET', '/api/v1/vms/inspector')).body;
  const vm = async (id: string) =>
    (await suite.request<InspectionStatusDto>('GET', `/api/v1/vms/${encodeURIComponent(id)}/inspector`)).body;
  const start = (vmIds: string[], source: Record<string, unknown>) =>
    suite.request<InspectorStatusDto>('POST', '/api/v1/vms/inspector', {
      body: { source: { type: 'noop', ...source }, vmIds },
    });
  const waitState = (state: string, timeoutMs = 20_000) =>
    eventually(
      async () => ((await status()).state === state ? true : undefined),
      timeoutMs,
      `inspector ${state}`,
    );
  const vmEvents = (runId: string) =>
    sse.messages
      .map((m) => m.data)
      .filter(
        (e) => e.type === InspectorEvents.VM_STATE_CHANGED && (e.data as { runId: string }).runId === runId,
      )
      .map((e) => e.data as { vmId: string; from: string | null; to: string; error?: string });
  // REST answers from the committed row; its event follows through the outbox a moment later, after
  // the events committed before it.
  const runEvent = (runId: string, to: string) =>
    sse.waitFor(
      (m) =>
        m.data.type === InspectorEvents.STATE_CHANGED &&
        m.data.subject === runId &&
        (m.data.data as { to: string }).to === to,
    );
  const runIdOf = async (vmId: string) =>
    (
      await sse.waitFor(
        (m) =>
          m.data.type === InspectorEvents.VM_STATE_CHANGED && (m.data.data as { vmId: string }).vmId === vmId,
      )
    ).data.data as { runId: string };
  const ids = (n: number) => Array.from({ length: n }, () => randomName('vm'));

  it('is ready before the first start, and refuses bad input with 400 problem+json, changing nothing', async () => {
    expect(await status()).toEqual({ state: 'ready' });
    const bodies: unknown[] = [
      {},
      { vmIds: ['vm-1'] },
      { VcenterCredentials: { url: 'https://vc.example', username: 'u', password: 'p' } },
      { VcenterCredentials: { url: 'https://vc.example', username: 'u', password: 'p' }, vmIds: [] },
      { VcenterCredentials: { url: 'https://vc.example', username: 'u', password: '' }, vmIds: ['vm-1'] },
      { VcenterCredentials: { url: '', username: 'u', password: 'p' }, vmIds: ['vm-1'] },
      { VcenterCredentials: { username: 'u', password: 'p' }, vmIds: ['vm-1'] },
      { VcenterCredentials: { url: 'https://vc.example', username: 'u', password: 'p' }, vmIds: [''] },
      {
        VcenterCredentials: { url: 'https://vc.example', username: 'u', password: 'p' },
        source: { type: 'local' },
        vmIds: ['vm-1'],
      },
      { source: { type: 'floppy' }, vmIds: ['vm-1'] },
      { source: { type: 'local', delayMs: 5 }, vmIds: ['vm-1'] },
    ];
    for (const body of bodies) {
      const r = await suite.request<Problem>('POST', '/api/v1/vms/inspector', { body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.code).toBe('VALIDATION');
    }
    expect(await status()).toEqual({ state: 'ready' });
    expect(sse.messages).toHaveLength(0);
    const queue = await suite.request('GET', '/api/v1/vms/inspector/queue');
    expect([queue.status, queue.body]).toEqual([
      200,
      { runId: null, source: null, state: 'ready', items: [], next_cursor: null },
    ]);
  });

  it('answers 404 to PATCH, DELETE and a VM cancel while the inspector is not running', async () => {
    expect((await suite.request('PATCH', '/api/v1/vms/inspector', { body: ['vm-1'] })).status).toBe(404);
    expect((await suite.request('DELETE', '/api/v1/vms/inspector')).status).toBe(404);
    const r = await suite.request<Problem>('DELETE', '/api/v1/vms/vm-1/inspector');
    expect(r.status).toBe(404);
    expect(r.body.detail).toMatch(/not running/);
    expect(await vm('vm-1')).toEqual({ state: 'not_found' });
  });

  it('inspects in queue order, one at a time, and ends done; a VM error does not stop it', async () => {
    const vms = ids(4);
    const r = await start(vms, { delayMs: 150, failVmIds: [vms[2]] });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ state: 'started' });
    expect(r.headers.get('location')).toBe('/api/v1/vms/inspector');
    const { runId } = await runIdOf(vms[0]!);
    await waitState('done');
    await runEvent(runId, 'done');

    const events = vmEvents(runId);
    expect(events.filter((e) => e.to === 'running').map((e) => e.vmId)).toEqual(vms);
    // One at a time: each VM ends before the next one runs.
    const order = events.filter((e) => e.to !== 'pending').map((e) => `${e.vmId}:${e.to}`);
    expect(order).toEqual(
      vms.flatMap((v) => [`${v}:running`, `${v}:${v === vms[2] ? 'error' : 'completed'}`]),
    );
    const failed = await vm(vms[2]!);
    expect(failed.state).toBe('error');
    expect(failed.error).toMatch(/failed on purpose/);
    const ok = await vm(vms[0]!);
    expect(ok.state).toBe('completed');
    expect(ok.results).toMatchObject({ source: 'noop', vmId: vms[0], concerns: [] });
    const inspected = sse.messages.filter(
      (m) =>
        m.data.type === InspectorEvents.VM_INSPECTED && (m.data.data as { runId: string }).runId === runId,
    );
    expect(inspected.map((m) => m.data.subject)).toEqual([vms[0], vms[1], vms[3]]);
    const runStates = sse.messages
      .filter((m) => m.data.type === InspectorEvents.STATE_CHANGED && m.data.subject === runId)
      .map((m) => (m.data.data as { to: string }).to);
    expect(runStates).toEqual(['started', 'running', 'done']);
  });

  it('adds VMs with PATCH to the end of the queue, cancels a pending and a running VM, and refuses a second start with 423', async () => {
    const first = ids(3);
    const later = ids(2);
    expect((await start(first, { delayMs: 1500 })).status).toBe(202);
    const { runId } = await runIdOf(first[0]!);
    await waitState('running');

    const again = await start(ids(1), {});
    expect(again.status).toBe(423);
    expect(again.headers.get('content-type')).toContain('application/problem+json');

    const patched = await suite.request<InspectorStatusDto>('PATCH', '/api/v1/vms/inspector', {
      body: [...later, first[1]],
    });
    expect(patched.status).toBe(202);
    expect(patched.body).toEqual({ state: 'running' });
    for (const body of [{ vmIds: later }, [], [42], 'vm-1']) {
      const bad = await suite.request<Problem>('PATCH', '/api/v1/vms/inspector', { body });
      expect(bad.status).toBe(400);
    }

    // first[2] is pending: it leaves the queue at once. first[0] runs: it is aborted.
    expect(await vm(first[2]!)).toEqual({ state: 'pending' });
    expect((await suite.request('DELETE', `/api/v1/vms/${first[2]}/inspector`)).body).toEqual({
      state: 'canceled',
    });
    await eventually(async () => ((await vm(first[0]!)).state === 'running' ? true : undefined));
    const canceled = await suite.request('DELETE', `/api/v1/vms/${first[0]}/inspector`);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toEqual({ state: 'canceled' });
    expect((await suite.request('DELETE', '/api/v1/vms/not-queued/inspector')).status).toBe(404);

    // Inspected already (while the rest still runs): it cannot be canceled any more.
    await eventually(async () => ((await vm(first[1]!)).state === 'completed' ? true : undefined), 10_000);
    const late = await suite.request<Problem>('DELETE', `/api/v1/vms/${first[1]}/inspector`);
    expect(late.status).toBe(409);

    await waitState('done', 30_000);
    await runEvent(runId, 'done');
    const ran = vmEvents(runId)
      .filter((e) => e.to === 'running')
      .map((e) => e.vmId);
    expect(ran).toEqual([first[0], first[1], ...later]);
    expect(await vm(first[2]!)).toEqual({ state: 'canceled' });
    expect((await vm(first[0]!)).state).toBe('canceled');
    expect((await vm(later[1]!)).state).toBe('completed');
  });

  it('stops: pending VMs canceled, the running one aborted; 423 while canceling; 404 afterwards', async () => {
    // Each VM's cancel lingers 2 s, as a snapshot removal would.
    const vms = ids(3);
    expect((await start(vms, { delayMs: 60_000, cancelDelayMs: 2000 })).status).toBe(202);
    const { runId } = await runIdOf(vms[0]!);
    await eventually(async () => ((await vm(vms[0]!)).state === 'running' ? true : undefined));

    const stopping = suite.request<InspectorStatusDto>('DELETE', '/api/v1/vms/inspector');
    await waitState('canceling', 5000);
    expect((await suite.request('PATCH', '/api/v1/vms/inspector', { body: ['vm-x'] })).status).toBe(423);
    expect((await suite.request('DELETE', `/api/v1/vms/${vms[1]}/inspector`)).status).toBe(423);
    expect((await start(ids(1), {})).status).toBe(423);
    const stopped = await stopping;
    expect(stopped.status).toBe(200);
    expect(stopped.body).toEqual({ state: 'canceled' });

    expect(await status()).toEqual({ state: 'canceled' });
    for (const v of vms) expect((await vm(v)).state).toBe('canceled');
    expect(vmEvents(runId).filter((e) => e.to === 'running')).toHaveLength(1);
    expect((await suite.request('PATCH', '/api/v1/vms/inspector', { body: ['vm-x'] })).status).toBe(404);
    expect((await suite.request('DELETE', '/api/v1/vms/inspector')).status).toBe(404);
    expect((await suite.request('DELETE', `/api/v1/vms/${vms[0]}/inspector`)).status).toBe(404);
  });

  it('a new start replaces the queue; earlier results stay readable in each VM’s history', async () => {
    const [a, b] = ids(2);
    await start([a!], {});
    await waitState('done');
    await start([b!], {});
    await waitState('done');
    expect(await vm(a!)).toEqual({ state: 'not_found' });
    expect((await vm(b!)).state).toBe('completed');
    const history = await suite.request<{
      vmId: string;
      items: { state: string; runId: string; results?: unknown }[];
    }>('GET', `/api/v1/vms/${a}/inspector/history`);
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(1);
    expect(history.body.items[0]).toMatchObject({ state: 'completed', results: { vmId: a } });
  });

  it('a VM’s history is paged newest first: limit, next_cursor, Link rel=next, and 400 on a forged cursor', async () => {
    const [a] = ids(1);
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      await start([a!], {});
      await waitState('done');
      const done = await sse.waitFor((m) => {
        const d = m.data.data as { vmId?: string; runId?: string; to?: string };
        return (
          m.data.type === InspectorEvents.VM_STATE_CHANGED &&
          d.vmId === a &&
          d.to === 'completed' &&
          !runs.includes(d.runId!)
        );
      });
      runs.unshift((done.data.data as { runId: string }).runId);
    }
    type History = { vmId: string; items: { runId: string }[]; next_cursor: string | null };
    const path = `/api/v1/vms/${a}/inspector/history`;
    const first = await suite.request<History>('GET', `${path}?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((i) => i.runId)).toEqual(runs.slice(0, 2));
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(first.headers.get('x-next-cursor')).toBe(first.body.next_cursor);
    const next = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    const second = await suite.request<History>('GET', next!);
    expect(second.body.items.map((i) => i.runId)).toEqual(runs.slice(2));
    expect(second.body.next_cursor).toBeNull();
    expect(second.headers.get('link')).toBeNull();

    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    const bad = await suite.request<Problem>('GET', `${path}?cursor=${forged}`);
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION']);
    expect((await suite.request<Problem>('GET', `${path}?limit=1001`)).status).toBe(400);
  });

  it('lists the run’s queue in its order, paged and by state; a cursor stays in its run after a new start', async () => {
    type Queue = {
      runId: string | null;
      source: string | null;
      state: string;
      items: { vmId: string; state: string; sequence: number; error?: string; concerns?: unknown }[];
      next_cursor: string | null;
    };
    const path = '/api/v1/vms/inspector/queue';
    const nextOf = (r: { headers: Headers }) =>
      /^<([^>]+)>; rel="next"$/.exec(r.headers.get('link') ?? '')?.[1];
    const vms = ids(5);
    await start(vms, { failVmIds: [vms[1], vms[3]] });
    const { runId } = await runIdOf(vms[0]!);
    await waitState('done');

    const failed = await suite.request<Queue>('GET', `${path}?state=error`);
    expect(failed.status).toBe(200);
    expect(failed.body.items.map((i) => i.vmId)).toEqual([vms[1], vms[3]]);
    expect(failed.body.items[0]!.error).toMatch(/failed on purpose/);
    expect(failed.body.items[0]!.concerns).toBeUndefined();

    const first = await suite.request<Queue>('GET', `${path}?limit=2`);
    expect(first.body).toMatchObject({ runId, source: 'noop', state: 'done' });
    expect(first.body.items.map((i) => [i.vmId, i.state])).toEqual([
      [vms[0], 'completed'],
      [vms[1], 'error'],
    ]);
    expect(first.body.items[0]!.concerns).toEqual({ blocker: 0, warning: 0, info: 0 });
    expect(first.body.items[0]!.sequence).toBeLessThan(first.body.items[1]!.sequence);
    expect(first.headers.get('x-next-cursor')).toBe(first.body.next_cursor);

    // A new start replaces the queue that a first page shows, not the one a walk is in.
    const [other] = ids(1);
    await start([other!], {});
    await waitState('done');
    const walked: string[] = [];
    for (let next = nextOf(first); next;) {
      const page = await suite.request<Queue>('GET', next);
      expect(page.body.runId).toBe(runId);
      walked.push(...page.body.items.map((i) => i.vmId));
      next = nextOf(page);
    }
    expect(walked).toEqual(vms.slice(2));
    const latest = await suite.request<Queue>('GET', path);
    expect(latest.body.runId).not.toBe(runId);
    expect(latest.body.items.map((i) => i.vmId)).toEqual([other]);

    const unknownRun = Buffer.from(JSON.stringify([randomUUID(), '1'])).toString('base64url');
    for (const query of ['state=not_found', 'state=done', 'limit=0', 'cursor=%%%', `cursor=${unknownRun}`]) {
      const bad = await suite.request<Problem>('GET', `${path}?${query}`);
      expect({ query, status: bad.status, code: bad.body.code }).toEqual({
        query,
        status: 400,
        code: 'VALIDATION',
      });
    }
  });

  it('a start whose connection fails hides no earlier result (seed 000 clears the old data only after Init)', async () => {
    const [a, b] = ids(2);
    await start([a!, b!], { failVmIds: [b] });
    await waitState('done');
    const before = [await vm(a!), await vm(b!)];
    expect(before.map((s) => s.state)).toEqual(['completed', 'error']);

    // vCenter cannot be reached: 503, the inspector is in error, and the queue is as it was. Neither
    // says why (refused, here): that would make the inspector a port scanner; its log does.
    const port = await freePort();
    const url = `https://127.0.0.1:${port}/sdk`;
    const failed = await suite.request<Problem>('POST', '/api/v1/vms/inspector', {
      body: { VcenterCredentials: { url, username: 'u', password: 'p' }, vmIds: [a!, 'vm-new'] },
    });
    expect([failed.status, failed.body.code]).toEqual([503, 'UNAVAILABLE']);
    expect(failed.body.detail).toBe('vCenter unreachable');
    const s = await status();
    expect(s.state).toBe('error');
    expect(s.error).toBe('vCenter unreachable');
    for (const told of [JSON.stringify(failed.body), JSON.stringify(s)]) {
      expect(told).not.toMatch(/ECONNREFUSED|refused|connect/i);
      expect(told).not.toContain(String(port));
    }
    const logged = () =>
      suite
        .process('inspector')
        .output.find((l) => l.includes('ECONNREFUSED') && l.includes(`127.0.0.1:${port}`));
    await eventually(logged, 5000, 'the log says why');
    expect([await vm(a!), await vm(b!)]).toEqual(before);
    expect(await vm('vm-new')).toEqual({ state: 'not_found' });

    // A start that connects does replace the queue.
    await start([b!], {});
    await waitState('done');
    expect(await vm(a!)).toEqual({ state: 'not_found' });
    expect((await vm(b!)).state).toBe('completed');
  });

  it('refuses a vCenter its settings refuse with 422 before any connection, changing nothing', async () => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    const post = (url: string) =>
      suite.request<Problem>('POST', '/api/v1/vms/inspector', {
        body: { VcenterCredentials: { url, username: 'u', password: 'p' }, vmIds: ['vm-1'] },
      });
    const before = await status();
    try {
      // http:// by default.
      const http = await post(`http://127.0.0.1:${port}/sdk`);
      expect([http.status, http.body.code]).toEqual([422, 'UNPROCESSABLE']);
      expect(http.headers.get('content-type')).toContain('application/problem+json');
      expect(http.body.detail).toMatch(/INSPECTOR_VCENTER_ALLOW_HTTP/);

      await suite.process('inspector').stop();
      await suite.startService('inspector', { INSPECTOR_VCENTER_ALLOWLIST: 'vc.example.com, 10.0.0.0/8' });
      const literal = await post(`https://127.0.0.1:${port}/sdk`);
      expect([literal.status, literal.body.code, literal.body.detail]).toEqual([
        422,
        'UNPROCESSABLE',
        'vCenter 127.0.0.1 is not in INSPECTOR_VCENTER_ALLOWLIST',
      ]);
      // A name resolving outside the CIDRs (localhost is 127.0.0.1).
      const named = await post(`https://LOCALHOST:${port}/sdk`);
      expect([named.status, named.body.detail]).toEqual([
        422,
        'vCenter localhost is not in INSPECTOR_VCENTER_ALLOWLIST',
      ]);
      expect(await status()).toEqual(before);
      expect(connections).toBe(0);
    } finally {
      listener.close();
      await suite.process('inspector').stop();
      await suite.startService('inspector');
    }
  });

  it('refuses the noop source unless INSPECTOR_NOOP_SOURCE is set', async () => {
    await suite.process('inspector').stop();
    await suite.startService('inspector', { INSPECTOR_NOOP_SOURCE: 'false' });
    const r = await start(ids(1), {});
    expect(r.status).toBe(400);
    expect((r.body as unknown as Problem).detail).toMatch(/INSPECTOR_NOOP_SOURCE/);
    await suite.process('inspector').stop();
    await suite.startService('inspector');
  });

  it('two replicas over 200 VMs: every VM is inspected exactly once, by one of them, none lost', async () => {
    const second: ManagedProcess = spawnService('inspector', {
      ...suite.env('inspector'),
      INSPECTOR_CONCURRENCY: '8',
    });
    try {
      await second.waitFor(/"msg":"ready"/);
      await suite.process('inspector').stop();
      await suite.startService('inspector', { INSPECTOR_CONCURRENCY: '8' });
      const vms = ids(200);
      expect((await start(vms, { delayMs: 5 })).status).toBe(202);
      const { runId } = await runIdOf(vms[0]!);
      await waitState('done', 60_000);

      // `done` is committed before the relay has published every event: wait for the stream.
      await eventually(() =>
        vmEvents(runId).filter((e) => e.to === 'completed').length === 200 ? true : undefined,
      );
      const inspectedOf = () =>
        sse.messages.filter(
          (m) =>
            m.data.type === InspectorEvents.VM_INSPECTED &&
            (m.data.data as { runId: string }).runId === runId,
        );
      await eventually(() => (inspectedOf().length >= 200 ? true : undefined));
      const inspected = inspectedOf();
      expect(inspected.map((m) => m.data.subject).sort()).toEqual([...vms].sort());
      const running = vmEvents(runId).filter((e) => e.to === 'running');
      expect(running.map((e) => e.vmId).sort()).toEqual([...vms].sort());
      for (const v of vms.slice(0, 20)) expect((await vm(v)).state).toBe('completed');
      // Both replicas took part.
      const workers = await suite.query<{ n: number }>(
        `SELECT count(DISTINCT claimed_by)::int AS n FROM inspector.queue WHERE run_id = $1`,
        [runId],
      );
      expect(workers[0]!.n).toBe(2);
    } finally {
      await second.stop();
    }
  });
});
