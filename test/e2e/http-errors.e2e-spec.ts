import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { load as loadYaml } from 'js-yaml';
import type { VmDto } from '@ferry/contracts';
import type { ManagedProcess } from '@ferry/testing';
import { eventually, freePort, randomName, spawnService } from '@ferry/testing';
import { Suite } from '../support/suite';
import { TcpProxy } from '../support/tcp-proxy';

interface Problem {
  status: number;
  code: string;
  detail: string;
  requestId: string;
  instance: string;
  errors?: { field: string; messages: string[] }[];
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `data` as it is on a connection of its own and reads the one response: for requests fetch
 * will not send (bytes that are not HTTP, an `Expect` header, a POST without Content-Length).
 */
function rawRequest(url: string, data: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const done = () => {
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return reject(new Error(`no response head in ${JSON.stringify(text)}`));
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? 0);
      const body = Buffer.from(text.slice(end + 4))
        .subarray(0, length)
        .toString('utf8');
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      // One response is enough: a keep-alive connection would otherwise wait for the server's timeout.
      if (end !== -1 && length !== undefined && Buffer.byteLength(text.slice(end + 4)) >= Number(length)) {
        socket.destroy();
        done();
      }
    });
    socket.on('error', reject);
    socket.on('end', done);
    socket.write(data);
  });
}

/**
 * Every error the gateway sends is application/problem+json with a code, whoever raises it: Nest,
 * Fastify's router and body parsers, or Node's HTTP parser. Plus what the seeds' own clients send that
 * Fastify used to refuse: an empty JSON body (seed 002), `/health` and `/openapi.yaml` at the root and
 * `vm_template` (seed 004).
 */
describe('the gateway refuses malformed requests with problem+json, and takes what the seeds send', () => {
  let suite: Suite;
  const template = randomName('tpl');

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'cleanup', 'gateway']);
    const res = await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    expect(res.status).toBe(201);
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  const auth = () => ({ authorization: `Bearer ${suite.adminKey}` });

  function expectProblem(
    res: { status: number; headers: Headers | Record<string, string>; body: unknown },
    status: number,
    code: string,
  ): Problem {
    const header = (name: string) =>
      res.headers instanceof Headers ? res.headers.get(name) : (res.headers[name] ?? null);
    const body = (typeof res.body === 'string' ? JSON.parse(res.body) : res.body) as Problem;
    expect({ status: res.status, contentType: header('content-type'), code: body.code }).toEqual({
      status,
      contentType: 'application/problem+json; charset=utf-8',
      code,
    });
    expect(body.status).toBe(status);
    expect(body.requestId).toBe(header('x-request-id'));
    return body;
  }

  it('refuses what Fastify refuses before any route, each with its status and a code', async () => {
    const cases: [string, string, { rawBody?: string; headers?: Record<string, string> }, number, string][] =
      [
        // The example: a path parameter over the router's limit, which used to be plain JSON.
        ['GET', `/api/v1/vms/${'a'.repeat(300)}`, {}, 414, 'URI_TOO_LONG'],
        ['GET', '/api/v1/vms/%E0%A4%A', {}, 400, 'VALIDATION'],
        ['GET', '/api/v1/no-such-route', {}, 404, 'NOT_FOUND'],
        ['GET', '/no-such-page', {}, 404, 'NOT_FOUND'],
        [
          'PUT',
          '/api/v1/templates',
          { rawBody: '{}', headers: { 'content-type': 'application/json' } },
          404,
          'NOT_FOUND',
        ],
        [
          'POST',
          '/api/v1/templates',
          { rawBody: '{"name":', headers: { 'content-type': 'application/json' } },
          400,
          'VALIDATION',
        ],
        [
          'POST',
          '/api/v1/templates',
          { rawBody: '{"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } },
          400,
          'VALIDATION',
        ],
        [
          'POST',
          '/api/v1/templates',
          { rawBody: '<template/>', headers: { 'content-type': 'application/xml' } },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'POST',
          '/api/v1/templates',
          { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'POST',
          '/api/v1/templates',
          { rawBody: '{}', headers: { 'content-type': ';;' } },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
      ];
    for (const [method, path, options, status, code] of cases) {
      const res = await suite.request(method, path, options);
      expect({ method, path: path.slice(0, 40), status: res.status }).toEqual({
        method,
        path: path.slice(0, 40),
        status,
      });
      expectProblem(res, status, code);
    }
    // A body announced over the limit: refused from its Content-Length, before it is read.
    const tooLarge = await rawRequest(
      suite.gatewayUrl,
      `POST /api/v1/templates HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${suite.adminKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{`,
    );
    expectProblem(tooLarge, 413, 'PAYLOAD_TOO_LARGE');
    // The request id travels on these too, as on every other answer.
    const long = await suite.request('GET', `/api/v1/vms/${'b'.repeat(300)}`, {
      headers: { 'x-request-id': 'e2e-long-param' },
    });
    expect(expectProblem(long, 414, 'URI_TOO_LONG').requestId).toBe('e2e-long-param');
  });

  it('routes an id up to twice the longest valid one, so that an id a little too long is a 400 naming it', async () => {
    const res = await suite.request<Problem>('GET', `/api/v1/vms/${'v'.repeat(200)}`);
    expect(expectProblem(res, 400, 'VALIDATION').errors?.map((e) => e.field)).toEqual(['id']);
  });

  it("answers what Node's HTTP parser refuses with a problem too: not HTTP 400, headers too large 431, Expect 417", async () => {
    expectProblem(await rawRequest(suite.gatewayUrl, 'HELLO THERE\r\n\r\n'), 400, 'VALIDATION');
    expectProblem(
      await rawRequest(
        suite.gatewayUrl,
        'GET /api/v1/templates HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
      ),
      400,
      'VALIDATION',
    );
    const tooLarge = expectProblem(
      await rawRequest(
        suite.gatewayUrl,
        `GET /api/v1/templates HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`,
      ),
      431,
      'HEADERS_TOO_LARGE',
    );
    expect(tooLarge.instance).toBe('/api/v1/templates');
    const expectation = await rawRequest(
      suite.gatewayUrl,
      `POST /api/v1/templates HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${suite.adminKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 200-ok\r\n\r\n',
    );
    expectProblem(expectation, 417, 'EXPECTATION_FAILED');
    // And the gateway still serves after all of that.
    expect((await suite.request('GET', `/api/v1/templates/${template}`)).status).toBe(200);
  });

  it('takes an empty JSON body as {} (seed 002: POST /failover/cleanup/{vm_name} with no body)', async () => {
    // As the seed's curl sends it: Content-Type: application/json, no Content-Length, no body.
    const curl = await rawRequest(
      suite.gatewayUrl,
      'POST /api/v1/failover/cleanup/PGWINTESTBIOS HTTP/1.1\r\nHost: a\r\n' +
        `Authorization: Bearer ${suite.adminKey}\r\nContent-Type: application/json\r\n\r\n`,
    );
    // The request reached the cleanup service, which knows no test failover of that VM.
    const problem = expectProblem(curl, 404, 'NOT_FOUND');
    expect(problem.detail).toContain('"PGWINTESTBIOS" has no test failover to clean up');
    const withLength = await suite.request<Problem>('POST', '/api/v1/failover/cleanup/PGWINTESTBIOS', {
      rawBody: '',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(withLength, 404, 'NOT_FOUND');
    // A route whose body has required fields names them, as for `{}`.
    const empty = await suite.request<Problem>('POST', '/api/v1/templates', {
      rawBody: '',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(
      expectProblem(empty, 400, 'VALIDATION')
        .errors?.map((e) => e.field)
        .sort(),
    ).toEqual(['cpu_count', 'name', 'ram_amount']);
  });

  it('serves /health at the root, without a key, as /api/v1/health, and every 503 has Retry-After', async () => {
    const [root, api] = await Promise.all([
      suite.request<{ status: string; services: object; gateway: object }>('GET', '/health', { key: null }),
      suite.request<{ status: string; services: object; gateway: object }>('GET', '/api/v1/health', {
        key: null,
      }),
    ]);
    // Only three of the seven services run here, so the suite is degraded: a 503 that says when to retry.
    expect([root.status, api.status]).toEqual([503, 503]);
    expect(root.body.status).toBe('degraded');
    expect(Object.keys(root.body.services).sort()).toEqual(Object.keys(api.body.services).sort());
    expect(Object.keys(root.body)).toEqual(Object.keys(api.body));
    for (const res of [root, api]) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('serves the OpenAPI document in YAML at /openapi.yaml, the same document as /api/openapi.json', async () => {
    const [yaml, json] = await Promise.all([
      suite.request<string>('GET', '/openapi.yaml', { key: null }),
      suite.request<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>(
        'GET',
        '/api/openapi.json',
        { key: null },
      ),
    ]);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^text\/yaml/);
    expect(loadYaml(yaml.body)).toEqual(json.body);
    // The document lists the root health route, and the VM fields under seed 004's names.
    expect(Object.keys(json.body.paths)).toEqual(expect.arrayContaining(['/health', '/api/v1/health']));
    const schemas = json.body.components.schemas as Record<string, { properties: object }>;
    expect(Object.keys(schemas['CreateVmBody']?.properties ?? {}).sort()).toEqual([
      'name',
      'nics',
      'template',
      'vm_template',
    ]);
    expect(Object.keys(schemas['VmDto']?.properties ?? {})).toEqual(
      expect.arrayContaining(['template', 'vm_template', 'local_ip', 'nics']),
    );
    expect(Object.keys(schemas['VmNicDto']?.properties ?? {}).sort()).toEqual(['ip', 'mac', 'model']);
  });

  it("creates a VM from seed 004's body {vm_template}, and shows vm_template on the VM", async () => {
    const created = await suite.request<VmDto>('POST', '/api/v1/vms', { body: { vm_template: template } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ template, vm_template: template, state: 'stopped' });
    const got = await suite.request<VmDto>('GET', `/api/v1/vms/${created.body.id}`);
    expect(got.body).toMatchObject({ template, vm_template: template });
    const listed = await suite.request<VmDto[]>('GET', '/api/v1/vms');
    expect(listed.body.find((v) => v.id === created.body.id)?.vm_template).toBe(template);
    // Ferry's own name still works, and both at once must agree.
    const both = await suite.request<VmDto>('POST', '/api/v1/vms', {
      body: { template, vm_template: template },
    });
    expect(both.status).toBe(201);
    const differ = await suite.request<Problem>('POST', '/api/v1/vms', {
      body: { template, vm_template: 'another' },
    });
    expect(expectProblem(differ, 400, 'VALIDATION').errors?.map((e) => e.field)).toEqual(['vm_template']);
    const neither = await suite.request<Problem>('POST', '/api/v1/vms', { body: { name: randomName('vm') } });
    expect(expectProblem(neither, 400, 'VALIDATION').errors?.map((e) => e.field)).toEqual(['template']);
  });

  describe('when its own Postgres is unreachable', () => {
    let proxy: TcpProxy;
    let gateway: ManagedProcess;
    let url = '';

    beforeAll(async () => {
      // A second gateway reaches the suite's database through a proxy the test can cut; it trusts a
      // verified key for a minute, so a request with the admin key gets past authentication to the
      // idempotency keys.
      const db = new URL(suite.db.url);
      proxy = await TcpProxy.start(db.hostname, Number(db.port || 5432));
      db.port = String(proxy.port);
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      gateway = spawnService('gateway', {
        ...suite.env('gateway'),
        PORT: String(port),
        DATABASE_URL: db.toString(),
        API_KEY_CACHE_TTL_MS: '60000',
      });
      await gateway.waitFor(/"msg":"ready"/);
    });

    afterAll(async () => {
      await gateway?.stop();
      await proxy?.dispose();
    });

    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : text };
    };

    it('answers 503 UNAVAILABLE with Retry-After for API keys and idempotency keys, never 500', async () => {
      expect((await call('GET', `/api/v1/templates/${template}`, auth())).status).toBe(200);
      await proxy.cut();
      try {
        // A key not seen yet must be read from the database.
        const unknownKey = `fry_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
        const keyLookup = await call('GET', '/api/v1/templates', { authorization: `Bearer ${unknownKey}` });
        // An Idempotency-Key must be claimed in the database.
        const claim = await call(
          'POST',
          '/api/v1/templates',
          { ...auth(), 'idempotency-key': randomName('idem') },
          { name: randomName('t'), cpu_count: 1, ram_amount: 64 },
        );
        const ready = await call('GET', '/api/v1/health/ready', {});
        for (const res of [keyLookup, claim]) {
          expect(expectProblem(res, 503, 'UNAVAILABLE').detail).toBe(
            'the database is unavailable; retry later',
          );
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        }
        expect(ready.status).toBe(503);
        expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
      } finally {
        await proxy.restore();
      }
      // Back by itself once the database is: the unknown key is now simply unknown.
      await eventually(
        async () => {
          const unknownKey = `fry_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
          const res = await call('GET', '/api/v1/templates', { authorization: `Bearer ${unknownKey}` });
          return res.status === 401 ? res : undefined;
        },
        15_000,
        'the gateway reads API keys again',
      );
      expect(gateway.running).toBe(true);
      expect(gateway.output.filter((l) => l.includes('"msg":"unhandled error"'))).toEqual([]);
    });
  });

  describe('with short deadlines for slow clients', () => {
    let gateway: ManagedProcess;
    let port = 0;

    beforeAll(async () => {
      port = await freePort();
      gateway = spawnService('gateway', {
        ...suite.env('gateway'),
        PORT: String(port),
        HTTP_REQUEST_TIMEOUT_MS: '1000',
        HTTP_CONNECTION_TIMEOUT_MS: '1500',
      });
      await gateway.waitFor(/"msg":"ready"/);
    });

    afterAll(async () => {
      await gateway?.stop();
    });

    /** Opens a connection, lets `feed` write to it, and resolves with what the server sent before closing. */
    const untilClosed = (feed: (write: (text: string) => void) => void): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        socket.on('connect', () =>
          feed((text) => {
            if (!socket.destroyed) socket.write(text);
          }),
        );
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });

    it('answers 408 and disconnects a client that trickles its request in (slowloris)', async () => {
      let drip: NodeJS.Timeout | undefined;
      const answer = await untilClosed((write) => {
        write('POST /api/v1/templates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
        // A header line every 300 ms: never idle long enough for the connection deadline, never done.
        let n = 0;
        drip = setInterval(() => write(`X-Drip-${n++}: 1\r\n`), 300);
      });
      clearInterval(drip);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('closes a kept-alive connection once it has been idle for the connection deadline', async () => {
      // Fastify would keep it for 72 s (its keepAliveTimeout) without the deadline.
      const answer = await untilClosed((write) =>
        write('GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    });
  });
});
