import { Agent, request } from 'node:http';

export interface LatencySummary {
  n: number;
  p50_us: number;
  p99_us: number;
}

export function summarize(samplesNs: bigint[] | number[]): LatencySummary {
  const us = samplesNs.map((s) => Number(s) / 1000).sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.floor(q * us.length))] ?? NaN;
  return { n: us.length, p50_us: Math.round(at(0.5)), p99_us: Math.round(at(0.99)) };
}

/** Times `op` `n` times one after another (an unloaded round trip). */
export async function sequential(n: number, op: () => Promise<unknown>): Promise<LatencySummary> {
  for (let i = 0; i < Math.min(200, n); i++) await op(); // warm-up
  const samples: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    samples.push(process.hrtime.bigint() - t0);
  }
  return summarize(samples);
}

/** A keep-alive GET that resolves with the status; the body is read and dropped. */
export function httpGetter(
  url: string,
  headers: Record<string, string>,
  agent: Agent,
): () => Promise<number> {
  return () =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
}

/** GETs `url` from `concurrency` keep-alive connections for `seconds`, after a one-second warm-up. */
export async function closedLoop(
  url: string,
  headers: Record<string, string>,
  concurrency: number,
  seconds: number,
): Promise<LatencySummary & { rps: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const get = httpGetter(url, headers, agent);
  let measuring = false;
  let stop = false;
  let errors = 0;
  const samples: bigint[] = [];
  const worker = async () => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      const status = await get().catch(() => 0);
      if (!measuring) continue;
      if (status !== 200) errors++;
      samples.push(process.hrtime.bigint() - t0);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  return { ...summarize(samples), rps: Math.round(samples.length / elapsedS), errors };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Rejects after `ms` unless `promise` settled first; `what` names what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A GET's status, `Link` header and body. */
export interface Got {
  status: number;
  link: string | undefined;
  body: string;
}

/** Keep-alive GETs with an API key, one connection, reading each body whole. */
export function getter(base: string, key: string): (path: string) => Promise<Got> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return (path) =>
    new Promise<Got>((resolve, reject) => {
      const req = request(`${base}${path}`, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, link: res.headers.link as string | undefined, body }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}

/** Samples of `op` once per item, in ns. */
export async function times<T>(items: T[], op: (item: T) => Promise<unknown>): Promise<bigint[]> {
  const samples: bigint[] = [];
  for (const item of items) {
    const t0 = process.hrtime.bigint();
    await op(item);
    samples.push(process.hrtime.bigint() - t0);
  }
  return samples;
}

/** p50, p90 and p99 in µs. */
export function percentiles(samples: bigint[]) {
  const us = samples.map((s) => Number(s) / 1000).sort((a, b) => a - b);
  return { ...summarize(samples), p90_us: Math.round(us[Math.floor(0.9 * us.length)] ?? NaN) };
}
