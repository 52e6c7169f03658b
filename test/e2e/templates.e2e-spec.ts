import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { randomName } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  type: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  errors?: { field: string; messages: string[] }[];
}

describe('templates through the gateway (real processes, Postgres, NATS)', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  it('creates, reads, lists and deletes a template', async () => {
    const name = randomName('crud');
    const created = await suite.request('POST', '/api/v1/templates', {
      body: { name, cpu_count: 2, ram_amount: 2048 },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/templates/${name}`);
    expect(created.body).toMatchObject({ name, cpu_count: 2, ram_amount: 2048, machine_type: 'q35' });

    const got = await suite.request('GET', `/api/v1/templates/${name}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const list = await suite.request<{ name: string }[]>('GET', '/api/v1/templates');
    expect(list.status).toBe(200);
    expect(list.body.map((t) => t.name)).toContain(name);

    expect((await suite.request('DELETE', `/api/v1/templates/${name}`)).status).toBe(204);
    expect((await suite.request('GET', `/api/v1/templates/${name}`)).status).toBe(404);
  });

  it('answers 401 without a key or with a wrong one, and 403 to a viewer that tries to change something', async () => {
    const none = await suite.request<Problem>('GET', '/api/v1/templates', { key: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect(none.body.code).toBe('UNAUTHENTICATED');

    const forged = suite.adminKey.slice(0, -4) + 'AAAA';
    expect((await suite.request('GET', '/api/v1/templates', { key: forged })).status).toBe(401);

    const viewer = await suite.keyWithRole('viewer');
    expect((await suite.request('GET', '/api/v1/templates', { key: viewer })).status).toBe(200);
    const post = await suite.request<Problem>('POST', '/api/v1/templates', {
      key: viewer,
      body: { name: randomName('v'), cpu_count: 1, ram_amount: 1 },
    });
    expect(post.status).toBe(403);
    expect(post.body.code).toBe('FORBIDDEN');
    // Key management needs admin, which an operator is not.
    const operator = await suite.keyWithRole('operator');
    expect((await suite.request('GET', '/api/v1/api-keys', { key: operator })).status).toBe(403);
  });

  it('rejects invalid input with 400 problem+json naming each invalid field, and stores nothing', async () => {
    const name = 'bad name!';
    const res = await suite.request<Problem>('POST', '/api/v1/templates', {
      body: { name, cpu_count: 0, ram_amount: 'lots' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('VALIDATION');
    expect(res.body.errors?.map((e) => e.field).sort()).toEqual(['cpu_count', 'name', 'ram_amount']);
    const list = await suite.request<{ name: string }[]>('GET', '/api/v1/templates');
    expect(list.body.map((t) => t.name)).not.toContain(name);
  });

  it('rejects unknown fields', async () => {
    const res = await suite.request<Problem>('POST', '/api/v1/templates', {
      body: { name: randomName('u'), cpu_count: 1, ram_amount: 1, disk_gb: 10 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'disk_gb', messages: ['property disk_gb should not exist'] }]);
  });

  it('rejects a path parameter that is not a valid name', async () => {
    const res = await suite.request<Problem>('GET', `/api/v1/templates/${'x'.repeat(64)}`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.field).toBe('name');
  });

  it('answers 404 for an unknown template, on read and on delete', async () => {
    const get = await suite.request<Problem>('GET', '/api/v1/templates/does-not-exist');
    expect(get.status).toBe(404);
    expect(get.body.code).toBe('NOT_FOUND');
    expect((await suite.request('DELETE', '/api/v1/templates/does-not-exist')).status).toBe(404);
  });

  it('answers 409 to a duplicate name and keeps the first template', async () => {
    const name = randomName('dup');
    expect(
      (await suite.request('POST', '/api/v1/templates', { body: { name, cpu_count: 1, ram_amount: 512 } }))
        .status,
    ).toBe(201);
    const again = await suite.request<Problem>('POST', '/api/v1/templates', {
      body: { name, cpu_count: 8, ram_amount: 8192 },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    expect((await suite.request('GET', `/api/v1/templates/${name}`)).body).toMatchObject({
      cpu_count: 1,
      ram_amount: 512,
    });
  });

  it('takes the client request id, or makes one, and returns it', async () => {
    const mine = await suite.request('GET', '/api/v1/templates', {
      headers: { 'x-request-id': 'e2e-req-42' },
    });
    expect(mine.headers.get('x-request-id')).toBe('e2e-req-42');
    const made = await suite.request<Problem>('GET', '/api/v1/templates/nope');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.body.requestId).toBe(made.headers.get('x-request-id'));
  });

  it('refuses a body over the limit with 413', async () => {
    // The gateway answers from the Content-Length, before the body has arrived, and closes the
    // connection; fetch then fails with EPIPE while still writing. Read the answer as curl would.
    const body = JSON.stringify({ name: 'big', pad: 'x'.repeat(2 * 1024 * 1024) });
    const res = await new Promise<{ status: number; body: Problem }>((resolve, reject) => {
      const req = request(`${suite.gatewayUrl}/api/v1/templates`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${suite.adminKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      });
      req.on('response', (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) as Problem }));
      });
      // A write cut off by the early answer is expected; only a missing answer is a failure.
      req.on('error', (err) => setTimeout(() => reject(err), 1000));
      req.end(body);
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('streams template.created and template.deleted to an SSE client, with the request id as correlation id', async () => {
    const name = randomName('sse');
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.vm-operator.template.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      expect(sse.status).toBe(200);
      const requestId = `sse-${randomUUID()}`;
      await suite.request('POST', '/api/v1/templates', {
        body: { name, cpu_count: 1, ram_amount: 256 },
        headers: { 'x-request-id': requestId },
      });
      const created = await sse.waitFor(
        (m) => m.data.subject === name && m.data.type === 'ferry.vm-operator.template.created',
      );
      expect(created.data).toMatchObject({
        specversion: '1.0',
        source: 'ferry/vm-operator',
        correlationid: requestId,
        data: { template: { name, cpu_count: 1, ram_amount: 256 } },
      });
      expect(created.event).toBe('ferry.vm-operator.template.created');
      // The same id is on vm-operator's log line for the change.
      const logged = suite
        .process('vm-operator')
        .output.find((l) => l.includes('"msg":"template created"') && l.includes(name));
      expect(JSON.parse(logged ?? '{}')).toMatchObject({
        correlationId: requestId,
        service: 'vm-operator',
        context: 'TemplatesService',
      });
      await suite.request('DELETE', `/api/v1/templates/${name}`);
      await sse.waitFor(
        (m) => m.data.subject === name && m.data.type === 'ferry.vm-operator.template.deleted',
      );
      expect(sse.messages.every((m) => m.data.type.startsWith('ferry.vm-operator.template.'))).toBe(true);
    } finally {
      sse.close();
    }
  });

  it('filters the SSE stream by subject and resumes after Last-Event-ID', async () => {
    const a = randomName('ssea');
    const b = randomName('sseb');
    const auth = { authorization: `Bearer ${suite.adminKey}` };
    const onlyA = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${a}`, auth);
    let resumed: SseClient | undefined;
    try {
      await suite.request('POST', '/api/v1/templates', { body: { name: b, cpu_count: 1, ram_amount: 1 } });
      await suite.request('POST', '/api/v1/templates', { body: { name: a, cpu_count: 1, ram_amount: 1 } });
      const first = await onlyA.waitFor((m) => m.data.subject === a);
      expect(onlyA.messages.some((m) => m.data.subject === b)).toBe(false);

      await suite.request('DELETE', `/api/v1/templates/${a}`);
      resumed = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${a}`, {
        ...auth,
        'last-event-id': String(first.id),
      });
      const next = await resumed.waitFor((m) => m.data.type === 'ferry.vm-operator.template.deleted');
      expect(Number(next.id)).toBeGreaterThan(Number(first.id));
      expect(resumed.messages.some((m) => m.id === first.id)).toBe(false);
    } finally {
      onlyA.close();
      resumed?.close();
    }
  });

  it('replays the first response for a repeated Idempotency-Key, and refuses the key with another body', async () => {
    const name = randomName('idem');
    const key = randomUUID();
    const body = { name, cpu_count: 4, ram_amount: 4096 };
    const first = await suite.request('POST', '/api/v1/templates', {
      body,
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    const replay = await suite.request('POST', '/api/v1/templates', {
      body: { ram_amount: 4096, cpu_count: 4, name },
      headers: { 'idempotency-key': key },
    });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const other = await suite.request<Problem>('POST', '/api/v1/templates', {
      body: { ...body, cpu_count: 5 },
      headers: { 'idempotency-key': key },
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('UNPROCESSABLE');
    // Without the key the same body is a new request, which conflicts with the template that exists.
    expect((await suite.request('POST', '/api/v1/templates', { body })).status).toBe(409);
  });
});
