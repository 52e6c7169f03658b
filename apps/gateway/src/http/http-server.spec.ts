import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { JsonLogger } from '@ferry/platform';
import type { FastifyInstance } from 'fastify';
import { GatewayConfig } from '../config/gateway.config';
import { MAX_PATH_PARAM_LENGTH, createGatewayAdapter, rewriteRootAlias } from './http-server';
import { RETRY_AFTER_SECONDS } from './problem';

describe('rewriteRootAlias', () => {
  it('routes /health at the root to /api/v1/health, keeping the query, and nothing else', () => {
    expect(rewriteRootAlias('/health')).toBe('/api/v1/health');
    expect(rewriteRootAlias('/health?verbose=1')).toBe('/api/v1/health?verbose=1');
    expect(rewriteRootAlias('/health/live')).toBe('/health/live');
    expect(rewriteRootAlias('/healthz')).toBe('/healthz');
    expect(rewriteRootAlias('/api/v1/health')).toBe('/api/v1/health');
    expect(rewriteRootAlias('/api/v1/templates?x=/health')).toBe('/api/v1/templates?x=/health');
  });
});

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the responses a raw socket received, in order (bodies with content-length only). */
function parseResponses(raw: string): Exchange[] {
  const out: Exchange[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = end + 4;
    out.push({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: Buffer.from(rest.slice(bodyStart)).subarray(0, length).toString(),
    });
    rest = Buffer.from(rest.slice(bodyStart)).subarray(length).toString();
  }
  return out;
}

/**
 * The gateway's Fastify with its handlers and hooks, but test routes instead of Nest: what it answers
 * before any route runs, over real sockets.
 */
describe('the gateway HTTP server, before any route runs', () => {
  const lines: string[] = [];
  let fastify: FastifyInstance;
  let port = 0;
  /** What a test does while the server closes: after the gateway's preClose, before the listener closes. */
  let whileClosing: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    whileClosing = undefined;
    const config = Object.assign(new GatewayConfig(), { BODY_LIMIT_BYTES: 1024 * 1024 });
    fastify = createGatewayAdapter(
      config,
      new JsonLogger('gateway', 'warn', (l) => lines.push(l)),
    ).getInstance<FastifyInstance>();
    fastify.get('/api/v1/vms/:id', async (req) => ({ id: (req.params as { id: string }).id }));
    fastify.get('/api/v1/health', async (req) => ({ url: req.url }));
    fastify.get('/degraded', async (_req, reply) => reply.code(503).send({ status: 'degraded' }));
    fastify.addHook('preClose', (done) => {
      if (!whileClosing) return done();
      whileClosing().then(() => done(), done);
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    port = (fastify.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await fastify.close();
  });

  /** Writes `data` on a fresh connection and collects everything until the server closes it. */
  function raw(data: string, after?: (write: (more: string) => void) => Promise<void>): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
      socket.write(data);
      if (after) after((more) => socket.write(more)).catch(reject);
      else socket.end();
    });
  }

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers });

  async function expectProblem(res: Response, status: number, code: string): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toMatchObject({ status, code, requestId: res.headers.get('x-request-id') });
  }

  it('routes a path parameter up to the bound, and refuses a longer one with 414 URI_TOO_LONG', async () => {
    const ok = await get(`/api/v1/vms/${'a'.repeat(MAX_PATH_PARAM_LENGTH)}`);
    expect(ok.status).toBe(200);
    await expectProblem(
      await get(`/api/v1/vms/${'a'.repeat(300)}`, { 'x-request-id': 'long-1' }),
      414,
      'URI_TOO_LONG',
    );
  });

  it('refuses a URL it cannot decode with 400 VALIDATION', async () => {
    await expectProblem(await get('/api/v1/vms/%E0%A4%A'), 400, 'VALIDATION');
  });

  it("answers bytes that are not HTTP with a problem on the socket, instead of Fastify's plain JSON", async () => {
    const [res] = parseResponses(await raw('GARBAGE\r\n\r\n'));
    expect(res).toMatchObject({
      status: 400,
      headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    });
    expect(JSON.parse(res!.body)).toMatchObject({ code: 'VALIDATION', status: 400 });
  });

  it('answers headers over the limit with 431 HEADERS_TOO_LARGE', async () => {
    const [res] = parseResponses(
      await raw(`GET /api/v1/vms/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expect(res?.status).toBe(431);
    expect(JSON.parse(res!.body)).toMatchObject({ code: 'HEADERS_TOO_LARGE', instance: '/api/v1/vms/x' });
  });

  it('answers an Expect it does not support with 417 EXPECTATION_FAILED', async () => {
    // fetch refuses to send Expect; a raw request does.
    const [res] = parseResponses(
      await raw('GET /api/v1/vms/x HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n'),
    );
    expect(res).toMatchObject({ status: 417, headers: { connection: 'close' } });
    expect(JSON.parse(res!.body)).toMatchObject({ code: 'EXPECTATION_FAILED', instance: '/api/v1/vms/x' });
  });

  it('serves /health at the root as /api/v1/health', async () => {
    expect(await (await get('/health?x=1')).json()).toEqual({ url: '/api/v1/health?x=1' });
  });

  it('gives a 503 that a route sends without Retry-After one', async () => {
    const res = await get('/degraded');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  });

  it('answers a request that arrives while it shuts down with a 503 problem, Retry-After and close', async () => {
    // Fastify closes the listener only after the preClose hooks, so a request can still arrive then.
    let during: Response | undefined;
    whileClosing = async () => {
      during = await get('/api/v1/vms/x');
    };
    await fastify.close();
    expect(during?.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect(during?.headers.get('connection')).toBe('close');
    await expectProblem(during!, 503, 'UNAVAILABLE');
  });
});
