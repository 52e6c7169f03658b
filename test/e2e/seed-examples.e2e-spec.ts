import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ServiceName } from '@ferry/contracts';
import { eventually, VcsimProbe, VcsimProcess } from '@ferry/testing';
import { load as loadYaml } from 'js-yaml';
import type { HttpResult } from '../support/suite';
import { Suite } from '../support/suite';

/** One request of a seed, replayed as written; test/e2e/seed-examples/README.md describes the fields. */
interface Example {
  seed: string;
  setup?: string;
  note?: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  eventually?: boolean;
  expect: Expectation;
  capture?: Record<string, string>;
}

interface Expectation {
  status: number | '2xx';
  body?: unknown;
  contains?: string[];
}

interface VcsimSpec {
  username: string;
  password: string;
  vms: number;
}

interface SeedFile {
  seed: string;
  services: ServiceName[];
  fixtures?: { vcsim?: VcsimSpec };
  substitute?: Record<string, string>;
  routes?: Record<string, string>;
  examples: Example[];
}

/** What a fixture gives the examples: `{name}` variables, and environment for the services it serves. */
interface Fixture {
  vars: Record<string, string>;
  env: Partial<Record<ServiceName, Record<string, string>>>;
  stop(): Promise<void>;
}

const DIR = join(__dirname, 'seed-examples');
/** How long an `eventually` example is re-sent before it fails (a test failover boots two VMs). */
const EVENTUALLY_MS = 90_000;
/** The slow vCenter's delay on each answer (seed 000 inspects for minutes; vcsim in milliseconds). */
const VCENTER_LAG_MS = 400;

/**
 * A TCP proxy that hands on everything the server sends `lagMs` late, in order: a vCenter that
 * answers slowly, so that a run of seed 000 is still inspecting while the seed's next examples arrive.
 */
async function laggingProxy(targetPort: number, lagMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    let due = 0;
    const later = (fn: () => void) => {
      due = Math.max(Date.now() + lagMs, due);
      setTimeout(fn, due - Date.now());
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => later(() => client.write(chunk)));
    upstream.on('close', () => later(() => client.destroy()));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** vcsim with the seed's credentials behind a slow proxy; `vcsim.<VM name>` is each VM's MoRef. */
async function vcsimFixture(spec: VcsimSpec): Promise<Fixture> {
  const sim = await VcsimProcess.start(spec);
  const proxy = await laggingProxy(Number(new URL(sim.url).port), VCENTER_LAG_MS);
  const probe = new VcsimProbe(sim);
  const vars: Record<string, string> = { 'vcsim.url': `https://127.0.0.1:${proxy.port}` };
  for (let i = 0; i < spec.vms; i++) {
    for (const name of [`DC0_H0_VM${i}`, `DC0_C0_RP0_VM${i}`])
      vars[`vcsim.${name}`] = await probe.moref(`/DC0/vm/${name}`);
  }
  return {
    vars,
    env: { inspector: { INSPECTOR_VSPHERE_CA_FILE: sim.caFile } },
    stop: async () => {
      proxy.close();
      await sim.stop();
    },
  };
}

/** A capture's `$.a.b[0]` path, read from a response body. */
function pick(body: unknown, path: string): unknown {
  const keys = path.replace(/^\$/, '').match(/[^.[\]]+/g) ?? [];
  return keys.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], body);
}

/**
 * The answer seen through the expectation: the expected fields only (subset semantics; `"*"` stands
 * for any value, null too, of a field that is there), the status class where one is expected, and
 * which of the `contains` strings the answer's text has. Equal to the expectation when it matches.
 */
function observe(want: Expectation, res: HttpResult, body: unknown): Expectation {
  const cls = `${Math.floor(res.status / 100)}xx`;
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  return {
    status: want.status === cls ? cls : res.status,
    ...(want.body !== undefined ? { body: project(want.body, body) } : {}),
    ...(want.contains ? { contains: want.contains.filter((s) => text.includes(s)) } : {}),
  };
}

function project(want: unknown, got: unknown): unknown {
  if (want === '*') return got === undefined ? got : '*';
  if (Array.isArray(want))
    return Array.isArray(got) && got.length === want.length ? want.map((w, i) => project(w, got[i])) : got;
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object' || Array.isArray(got)) return got;
    const entries = Object.entries(want).map(([k, w]) => [
      k,
      project(w, (got as Record<string, unknown>)[k]),
    ]);
    return Object.fromEntries(entries);
  }
  return got;
}

/** Runs one seed's examples in order against a suite of the services its file names. */
function replay(file: string): void {
  const data = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as SeedFile;

  describe(`seed ${data.seed} (${file})`, () => {
    let suite: Suite;
    let fixture: Fixture | undefined;
    const vars = new Map<string, string>();
    let failed: string | undefined;

    beforeAll(async () => {
      if (data.fixtures?.vcsim) fixture = await vcsimFixture(data.fixtures.vcsim);
      for (const [k, v] of Object.entries(fixture?.vars ?? {})) vars.set(k, v);
      suite = await Suite.start([]);
      await Promise.all(data.services.map((s) => suite.startService(s, fixture?.env[s])));
    }, 180_000);

    afterAll(async () => {
      await suite?.dispose();
      await fixture?.stop();
    });

    /** `{name}` in a string becomes the variable's value: a fixture's, or one captured earlier. */
    const expand = (s: string): string =>
      s.replace(/\{([A-Za-z][\w.-]*)\}/g, (_, name: string) => {
        const value = vars.get(name);
        if (value === undefined) throw new Error(`no value for {${name}} yet`);
        return value;
      });
    /** A seed literal listed under `substitute` becomes its replacement, then `{name}`s expand. */
    const resolve = (v: unknown): unknown => {
      if (typeof v === 'string') return expand(data.substitute?.[v] ?? v);
      if (Array.isArray(v)) return v.map(resolve);
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
      return v;
    };
    /** The seed's path on Ferry's gateway: a `routes` prefix is replaced, then each segment resolved. */
    const resolvePath = (path: string) => {
      const prefix = Object.keys(data.routes ?? {}).find(
        (p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`),
      );
      const routed = prefix ? data.routes![prefix] + path.slice(prefix.length) : path;
      return routed
        .split('/')
        .map((segment) => resolve(segment) as string)
        .join('/');
    };

    const send = (ex: Example) =>
      suite.request(ex.method, resolvePath(ex.path), {
        headers: resolve(ex.headers ?? {}) as Record<string, string>,
        rawBody: ex.body === undefined ? undefined : JSON.stringify(resolve(ex.body)),
      });
    /** The body as data: JSON already is (Suite.request parses it); YAML is parsed here. */
    const parsed = (res: HttpResult): unknown =>
      typeof res.body === 'string' && /yaml/.test(res.headers.get('content-type') ?? '')
        ? loadYaml(res.body)
        : res.body;

    for (const ex of data.examples) {
      const name = `${ex.setup ? 'setup: ' : ''}${ex.seed}: ${ex.method} ${ex.path} → ${ex.expect.status}`;
      it(
        name,
        async () => {
          if (failed) throw new Error(`not run: an earlier example failed (${failed})`);
          failed = name;
          const want = resolve(ex.expect) as Expectation;
          let res = await send(ex);
          let got = observe(want, res, parsed(res));
          if (ex.eventually && !isDeepStrictEqual(got, want)) {
            await eventually(
              async () => {
                res = await send(ex);
                got = observe(want, res, parsed(res));
                return isDeepStrictEqual(got, want) ? true : undefined;
              },
              EVENTUALLY_MS,
              name,
              // On a timeout the last answer is what fails below.
            ).catch(() => undefined);
          }
          try {
            expect(got).toEqual(want);
          } catch (err) {
            // The difference alone hides what Ferry said; the whole answer goes with it.
            (err as Error).message += `\n\nThe answer:\n${JSON.stringify(res.body, null, 2)}`;
            throw err;
          }
          for (const [key, path] of Object.entries(ex.capture ?? {})) {
            const value = pick(parsed(res), path);
            if (typeof value !== 'string' && typeof value !== 'number')
              throw new Error(`capture ${key}: nothing at ${path}`);
            vars.set(key, String(value));
          }
          failed = undefined;
        },
        EVENTUALLY_MS + 30_000,
      );
    }
  });
}

/** Seed 000 … 004 replayed through the gateway, as their users' scripts send them (plus the key). */
for (const file of readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort())
  replay(file);
