import { SERVICE_NAMES, SERVICE_SCHEMAS, healthSubject } from '@ferry/contracts';
import { eventually, freePort, randomName, spawnService } from '@ferry/testing';
import { connect } from 'nats';
import { Client } from 'pg';
import { Suite } from '../support/suite';

describe('the whole suite: seven services, health, OpenAPI, keys, limits, config', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await Suite.start([...SERVICE_NAMES]);
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  it('reports every service, Postgres and NATS on /health: the details to a key, a summary without one', async () => {
    const full = await suite.request<{
      status: string;
      services: Record<string, { status: string }>;
      gateway: { checks: object };
    }>('GET', '/api/v1/health');
    expect(full.status).toBe(200);
    expect(full.body.status).toBe('ok');
    expect(Object.keys(full.body.services).sort()).toEqual(
      SERVICE_NAMES.filter((s) => s !== 'gateway').sort(),
    );
    expect(Object.values(full.body.services).every((s) => s.status === 'ok')).toBe(true);
    expect(full.body.gateway.checks).toMatchObject({ postgres: { ok: true }, nats: { ok: true } });

    for (const key of [null, 'fry_abcdef123456_notARealKeyAtAllxxxxxxxxxxxxxxxxxxxxx']) {
      const summary = await suite.request<Record<string, unknown>>('GET', '/api/v1/health', { key });
      expect(summary.status).toBe(200);
      expect(summary.body).toEqual({
        status: 'ok',
        gateway: { status: 'ok' },
        services: Object.fromEntries(
          SERVICE_NAMES.filter((s) => s !== 'gateway').map((s) => [s, { status: 'ok' }]),
        ),
      });
    }
  });

  it('asks the services at most once a second for keyless health checks, however many arrive', async () => {
    const nc = await connect({ servers: suite.nats.url });
    try {
      let pings = 0;
      const sub = nc.subscribe(healthSubject('observer'), { callback: () => pings++ });
      await nc.flush();
      // Keyless checks back to back for over two seconds: past at least one reuse window.
      const started = Date.now();
      let requests = 0;
      while (Date.now() - started < 2500) {
        expect((await suite.request('GET', '/api/v1/health', { key: null })).status).toBe(200);
        requests++;
      }
      const windows = Math.ceil((Date.now() - started) / 1000) + 1;
      await nc.flush();
      sub.unsubscribe();
      expect(pings).toBeGreaterThanOrEqual(1);
      expect(pings).toBeLessThanOrEqual(windows);
      expect(requests).toBeGreaterThan(windows * 3);
    } finally {
      await nc.close();
    }
  });

  it('gave every service its own schema with an outbox and its own migrations table', async () => {
    const pg = new Client({ connectionString: suite.db.url });
    await pg.connect();
    try {
      const rows = (
        await pg.query(
          `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('outbox', 'migrations')`,
        )
      ).rows as {
        table_schema: string;
        table_name: string;
      }[];
      for (const schema of Object.values(SERVICE_SCHEMAS)) {
        expect(
          rows
            .filter((r) => r.table_schema === schema)
            .map((r) => r.table_name)
            .sort(),
        ).toEqual(['migrations', 'outbox']);
      }
    } finally {
      await pg.end();
    }
  });

  it('reports a service that is down with 503 and names it; the reason only to a key', async () => {
    await suite.process('observer').stop('SIGTERM');
    try {
      const res = await suite.request<{
        status: string;
        services: Record<string, { status: string; error?: string }>;
      }>('GET', '/api/v1/health');
      expect(res.status).toBe(503);
      expect(res.body.services['observer']?.status).toBe('down');
      expect(res.body.services['observer']?.error).toEqual(expect.any(String));
      expect(res.body.services['inspector']?.status).toBe('ok');
      // Without a key: the same verdict (once the second-long reuse has passed), no error text.
      const keyless = await eventually(async () => {
        const r = await suite.request<{ services: Record<string, { status: string }> }>(
          'GET',
          '/api/v1/health',
          { key: null },
        );
        return r.status === 503 ? r : undefined;
      });
      expect(keyless.body.services['observer']).toEqual({ status: 'down' });
      expect(JSON.stringify(keyless.body)).not.toMatch(/error|timeout|TIMEOUT|no responders/i);
    } finally {
      await suite.startService('observer');
    }
  });

  it('serves the OpenAPI document and its UI, generated from the DTOs', async () => {
    const doc = await suite.request<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties: object }> };
    }>('GET', '/api/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/templates',
        '/api/v1/templates/{name}',
        '/api/v1/events',
        '/api/v1/health',
      ]),
    );
    expect(Object.keys(doc.body.paths['/api/v1/templates'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(
      Object.keys(doc.body.components.schemas['CreateTemplateRequest']?.properties ?? {}).sort(),
    ).toEqual(['cpu_count', 'machine_type', 'name', 'ram_amount', 'required_traits']);
    // Seed 003's routes, with the placement request's schema from its DTO.
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/hosts',
        '/api/v1/hosts/{hostId}/capabilities',
        '/api/v1/hosts/{hostId}/capabilities/history',
        '/api/v1/hosts/{hostId}/capabilities/refresh',
        '/api/v1/traits',
        '/api/v1/placement/candidates',
        '/api/v1/resource-classes/{name}',
      ]),
    );
    expect(Object.keys(doc.body.components.schemas['PlacementRequest']?.properties ?? {}).sort()).toEqual([
      'forbidden',
      'hosts',
      'limit',
      'policy',
      'required',
      'resource_class',
      'resources',
    ]);
    // Health is public, and says so.
    expect((doc.body.paths['/api/v1/health']?.['get'] as { security?: unknown[] }).security).toEqual([]);
    // Every POST takes an Idempotency-Key (the @Idempotent() decorator documents and enforces it),
    // except key creation and sign-in, whose responses hold a secret that must not be stored.
    const posts = Object.entries(doc.body.paths).filter(
      ([path, ops]) => 'post' in ops && path !== '/api/v1/api-keys' && path !== '/api/v1/session',
    );
    expect((doc.body.paths['/api/v1/session']?.['post'] as { security?: unknown[] }).security).toEqual([]);
    expect(posts.length).toBeGreaterThan(0);
    for (const [path, ops] of posts) {
      const params = ((ops['post'] as { parameters?: { name: string; in: string }[] }).parameters ?? []).map(
        (p) => `${p.in}:${p.name}`,
      );
      expect({ path, params }).toEqual({ path, params: expect.arrayContaining(['header:Idempotency-Key']) });
    }
    const ui = await suite.request<string>('GET', '/api/docs', { key: null });
    expect(ui.status).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('manages API keys: create shows the secret once, list hides it, revoke locks the key out', async () => {
    const created = await suite.request<{ id: string; key: string; role: string }>(
      'POST',
      '/api/v1/api-keys',
      { body: { name: 'temp', role: 'operator' } },
    );
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^fry_/);
    const list = await suite.request<object[]>('GET', '/api/v1/api-keys');
    expect(JSON.stringify(list.body)).toContain(created.body.id);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect((await suite.request('GET', '/api/v1/templates', { key: created.body.key })).status).toBe(200);
    expect((await suite.request('DELETE', `/api/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await suite.request('GET', '/api/v1/templates', { key: created.body.key })).status).toBe(401);
    expect(
      (await suite.request('POST', '/api/v1/api-keys', { body: { name: 'x', role: 'root' } })).status,
    ).toBe(400);
  });

  it('never stores an API key in plain text, even when it is created with an Idempotency-Key', async () => {
    const created = await suite.request<{ key: string }>('POST', '/api/v1/api-keys', {
      body: { name: 'idem', role: 'viewer' },
      headers: { 'idempotency-key': randomName('k') },
    });
    expect(created.status).toBe(201);
    const pg = new Client({ connectionString: suite.db.url });
    await pg.connect();
    try {
      const tables = ['api_keys', 'idempotency_keys', 'outbox'];
      const dump = JSON.stringify(
        await Promise.all(tables.map(async (t) => (await pg.query(`SELECT * FROM gateway.${t}`)).rows)),
      );
      expect(dump).not.toContain(created.body.key.slice('fry_'.length + 12 + 1));
      expect(dump).not.toContain(suite.adminKey);
      expect(dump).not.toContain(suite.adminKey.slice('fry_'.length + 12 + 1));
    } finally {
      await pg.end();
    }
  });

  it('rate limits per key with 429, Retry-After and problem+json', async () => {
    const port = await freePort();
    const limited = spawnService('gateway', {
      ...suite.env('gateway'),
      PORT: String(port),
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '3',
    });
    try {
      await limited.waitFor(/"msg":"ready"/);
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        last = await fetch(`http://127.0.0.1:${port}/api/v1/templates`, {
          headers: { authorization: `Bearer ${suite.adminKey}` },
        });
        statuses.push(last.status);
        if (last.status === 429) break;
        await last.text();
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(last?.headers.get('content-type')).toContain('application/problem+json');
      expect(((await last?.json()) as { code: string }).code).toBe('RATE_LIMITED');
    } finally {
      await limited.stop();
    }
  });

  it('limits by address before a key verified: made-up keys get no bucket of their own and drain nobody else’s', async () => {
    const port = await freePort();
    const limited = spawnService('gateway', {
      ...suite.env('gateway'),
      PORT: String(port),
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '3',
      RATE_LIMIT_ADDRESS_PER_SECOND: '1',
      RATE_LIMIT_ADDRESS_BURST: '6',
    });
    const get = (key: string) =>
      fetch(`http://127.0.0.1:${port}/api/v1/templates`, {
        headers: { authorization: `Bearer ${key}` },
      }).then(async (r) => (await r.text(), r.status));
    const fake = () =>
      `fry_${randomName('k')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(-12)
        .padStart(12, 'a')}_${'f'.repeat(43)}`;
    try {
      await limited.waitFor(/"msg":"ready"/);
      // The admin key's id with a wrong secret, more often than the key's own burst allows.
      const adminId = suite.adminKey.split('_')[1]!;
      const forged = [];
      for (let i = 0; i < 5; i++) forged.push(await get(`fry_${adminId}_${'x'.repeat(43)}`));
      expect(forged).toEqual([401, 401, 401, 401, 401]);
      // The key's holder is not locked out by them.
      expect(await get(suite.adminKey)).toBe(200);
      // A fresh made-up key per request does not get a fresh bucket: the address's is spent.
      const fresh = [];
      for (let i = 0; i < 3; i++) fresh.push(await get(fake()));
      expect(fresh).toContain(429);
      expect(fresh.every((s) => s === 401 || s === 429)).toBe(true);
    } finally {
      await limited.stop();
    }
  });

  it('spreads requests across replicas of a service (queue group)', async () => {
    const second = spawnService('vm-operator', suite.env('vm-operator'));
    try {
      await second.waitFor(/"msg":"ready"/);
      for (let i = 0; i < 24; i++) {
        const r = await suite.request('POST', '/api/v1/templates', {
          body: { name: randomName('qg'), cpu_count: 1, ram_amount: 1 },
        });
        expect(r.status).toBe(201);
      }
      const served = (p: { output: string[] }) =>
        p.output.filter((l) => l.includes('"msg":"template created"') && l.includes('qg-')).length;
      expect(served(second)).toBeGreaterThan(0);
      expect(served(suite.process('vm-operator'))).toBeGreaterThan(0);
      expect(served(second) + served(suite.process('vm-operator'))).toBe(24);
    } finally {
      await second.stop();
    }
  });

  it('refuses to start on bad configuration and names the variable', async () => {
    const bad = spawnService('vm-operator', {
      ...suite.env('vm-operator'),
      NATS_URL: 'http://example',
      DB_POOL_SIZE: 'lots',
    });
    const code = await bad.exited();
    expect(code).not.toBe(0);
    const text = bad.output.join('\n');
    expect(text).toContain('NATS_URL');
    expect(text).toContain('DB_POOL_SIZE');
  });
});
