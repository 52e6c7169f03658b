import type { ServiceName } from '@ferry/contracts';
import { SERVICE_NAMES } from '@ferry/contracts';
import { PostgresServerProcess, eventually, randomName } from '@ferry/testing';
import { Suite } from '../support/suite';

const REQUEST_TIMEOUT_MS = 3000; // NATS_REQUEST_TIMEOUT_MS of the suite's gateway
/** A request's own deadline: the gateway's NATS timeout plus room for its reply. */
const DEADLINE_MS = REQUEST_TIMEOUT_MS + 2000;

interface Answer {
  status: number;
  retryAfter: string | null;
  code?: string;
  path: string;
  /** Why no answer came (status 0): a refused connection, or the deadline. */
  error?: string;
}

/**
 * Postgres crashes (`-m immediate`, a private cluster on its own port) under all seven services while
 * requests stream in and an inspection runs: every request answers 2xx or 503 (with Retry-After)
 * within its deadline, no accepted create or job is lost, no process exits, and every service is
 * healthy again within 10 s of Postgres coming back.
 */
describe('a Postgres restart under load', () => {
  let pg: PostgresServerProcess;
  let suite: Suite;

  beforeAll(async () => {
    pg = await PostgresServerProcess.start();
    suite = await Suite.start([...SERVICE_NAMES], {}, { pgAdminUrl: pg.adminUrl });
    // The observer sweeps on its own timer here, as in production: its sweep lock must survive too.
    await suite.process('observer').stop('SIGTERM');
    await suite.startService('observer', {
      OBSERVER_SWEEP_INTERVAL_MS: '500',
      OBSERVER_PERIODIC_SWEEPS: 'true',
    });
  }, 180_000);

  afterAll(async () => {
    for (const [name, p] of suite?.processes ?? [])
      if (!p.running) process.stderr.write(`${name} exited:\n${p.output.slice(-40).join('\n')}\n`);
    await suite?.dispose();
    await pg?.dispose();
  });

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${suite.adminKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${suite.gatewayUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(DEADLINE_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      return {
        status: 0,
        retryAfter: null,
        path,
        error: `${(err as Error).message} ${cause?.message ?? ''}`,
      };
    }
    const text = await res.text();
    const parsed = (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as {
      code?: string;
    };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), code: parsed.code, path };
  }

  it('answers 2xx or 503 throughout, loses nothing, and heals within 10 s', async () => {
    const vmIds = Array.from({ length: 12 }, (_, i) => `pgr-vm-${i}`);
    const start = await call('POST', '/api/v1/vms/inspector', {
      source: { type: 'noop', delayMs: 600 },
      vmIds,
    });
    expect(start.status).toBe(202);

    const answers: Answer[] = [];
    const created: string[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const name = randomName('pgr');
        const [post, read, vm] = await Promise.all([
          call('POST', '/api/v1/templates', { name, cpu_count: 1, ram_amount: 128 }),
          call('GET', '/api/v1/disks'),
          call('GET', `/api/v1/vms/${vmIds[0]}/inspector`),
        ]);
        answers.push(post, read, vm);
        if (post.status === 201) created.push(name);
      }
    })();

    // Crash once the inspection is under way; keep Postgres down for 5 s, and until callers were told so.
    await eventually(async () => (answers.length >= 6 ? true : undefined), 20_000, 'load running');
    await pg.crash();
    const crashedAt = answers.length;
    const downSince = Date.now();
    try {
      await eventually(
        () =>
          answers.slice(crashedAt).filter((a) => a.status === 503).length >= 6 &&
          Date.now() - downSince >= 5000
            ? true
            : undefined,
        30_000,
        'requests answered 503 while Postgres is down',
      );
    } finally {
      await pg.restart();
    }
    const backAt = Date.now();

    const healthy = await eventually(
      async () => {
        const res = await fetch(`${suite.gatewayUrl}/api/v1/health`, {
          signal: AbortSignal.timeout(DEADLINE_MS),
        });
        return res.status === 200 ? Date.now() : undefined;
      },
      20_000,
      'every service healthy again',
    );
    expect(healthy - backAt).toBeLessThan(10_000);
    stop = true;
    await load;

    // Every answer was a success or an honest "retry later".
    const wrong = answers.filter((a) => !(a.status >= 200 && a.status < 300) && a.status !== 503);
    expect(wrong).toEqual([]);
    const unavailable = answers.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThanOrEqual(6);
    for (const a of unavailable) {
      expect(a).toMatchObject({ code: 'UNAVAILABLE' });
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }

    // Every accepted create is there.
    for (const name of created) expect((await call('GET', `/api/v1/templates/${name}`)).status).toBe(200);

    // The inspection accepted before the crash finishes, every VM of it.
    await eventually(
      async () => {
        const res = await fetch(`${suite.gatewayUrl}/api/v1/vms/inspector`, {
          headers: { authorization: `Bearer ${suite.adminKey}` },
        });
        const body = (await res.json()) as { state: string };
        return body.state === 'done' ? true : undefined;
      },
      60_000,
      'the inspection done',
    );
    for (const id of vmIds) {
      const res = await fetch(`${suite.gatewayUrl}/api/v1/vms/${id}/inspector`, {
        headers: { authorization: `Bearer ${suite.adminKey}` },
      });
      expect({ id, state: ((await res.json()) as { state: string }).state }).toEqual({
        id,
        state: 'completed',
      });
    }

    // The observer sweeps again (its lock's session came back), and no process exited.
    const sweptAfter = await eventually(
      async () => {
        const res = await fetch(`${suite.gatewayUrl}/api/v1/coherence/status`, {
          headers: { authorization: `Bearer ${suite.adminKey}` },
        });
        const body = (await res.json()) as { last_sweep_at: string | null };
        return body.last_sweep_at && Date.parse(body.last_sweep_at) > backAt ? true : undefined;
      },
      15_000,
      'a sweep after the restart',
    );
    expect(sweptAfter).toBe(true);
    const exited = (SERVICE_NAMES as readonly ServiceName[]).filter((s) => !suite.process(s).running);
    expect(exited).toEqual([]);
  }, 180_000);
});
