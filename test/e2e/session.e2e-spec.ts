import { randomName } from '@ferry/testing';
import { Client } from 'pg';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface SessionBody {
  key_id: string;
  name: string;
  role: string;
  expires_at: string;
  csrf_token: string;
}
interface Problem {
  code: string;
  detail: string;
}

/**
 * Browser sign-in (issue 19): a key becomes an HttpOnly, SameSite=Strict session cookie; changes made
 * with it need its CSRF token; it has its key's role, and ends at sign-out or when the key is revoked.
 */
describe('sessions: an API key signed in as a cookie', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
  });
  afterAll(async () => {
    await suite?.dispose();
  });

  /** Signs in with `key`; returns the Cookie header to send and the body. */
  const signIn = async (key: string) => {
    const res = await suite.request<SessionBody>('POST', '/api/v1/session', { key: '', body: { key } });
    expect(res.status).toBe(201);
    const setCookie = res.headers.get('set-cookie')!;
    return { res, setCookie, cookie: setCookie.split(';')[0]!, body: res.body };
  };
  /** A request with the cookie and no key. */
  const withCookie = <T>(cookie: string, method: string, path: string, body?: unknown, csrf?: string) =>
    suite.request<T>(method, path, {
      key: '',
      body,
      headers: { cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) },
    });
  const template = () => ({ name: randomName('tpl'), cpu_count: 1, ram_amount: 64 });

  it('sets an HttpOnly, SameSite=Strict cookie that reads like the key, and keeps only its hash', async () => {
    const operator = await suite.keyWithRole('operator');
    const { setCookie, cookie, body } = await signIn(operator);
    expect(setCookie).toMatch(
      /^ferry_session=fs_[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/,
    );
    expect(body).toMatchObject({ key_id: operator.split('_')[1], role: 'operator' });
    expect(body.csrf_token).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(body)).not.toContain(operator);

    expect((await withCookie(cookie, 'GET', '/api/v1/templates')).status).toBe(200);
    const again = await withCookie<SessionBody>(cookie, 'GET', '/api/v1/session');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(body);

    const token = cookie.split('=')[1]!;
    const pg = new Client({ connectionString: suite.db.url });
    await pg.connect();
    try {
      const rows = (await pg.query('SELECT * FROM gateway.sessions')).rows as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(rows)).not.toContain(token);
    } finally {
      await pg.end();
    }
  });

  it('refuses a change without the session’s CSRF token, and takes it with it', async () => {
    const { cookie, body } = await signIn(await suite.keyWithRole('operator'));
    const missing = await withCookie<Problem>(cookie, 'POST', '/api/v1/templates', template());
    expect([missing.status, missing.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(missing.body.detail).toMatch(/X-CSRF-Token/);
    const forged = await withCookie(cookie, 'POST', '/api/v1/templates', template(), 'ab'.repeat(32));
    expect(forged.status).toBe(403);
    // Another session's token is not this one's.
    const other = await signIn(await suite.keyWithRole('operator'));
    expect(
      (await withCookie(cookie, 'POST', '/api/v1/templates', template(), other.body.csrf_token)).status,
    ).toBe(403);
    expect((await withCookie(cookie, 'POST', '/api/v1/templates', template(), body.csrf_token)).status).toBe(
      201,
    );
  });

  it('has its key’s role: a viewer’s session reads and may not change', async () => {
    const { cookie, body } = await signIn(await suite.keyWithRole('viewer'));
    expect(body.role).toBe('viewer');
    expect((await withCookie(cookie, 'GET', '/api/v1/templates')).status).toBe(200);
    const refused = await withCookie<Problem>(
      cookie,
      'POST',
      '/api/v1/templates',
      template(),
      body.csrf_token,
    );
    expect([refused.status, refused.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(refused.body.detail).toMatch(/operator role/);
  });

  it('is refused for a bad key with 401 and no cookie; nothing without a session', async () => {
    for (const key of ['', 'fry_AAAAAAAAAAAA_' + 'x'.repeat(32), 'nonsense']) {
      const res = await suite.request<Problem>('POST', '/api/v1/session', { key: '', body: { key } });
      expect(res.status).toBe(key === '' ? 400 : 401);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect((await withCookie('ferry_session=fs_' + 'A'.repeat(43), 'GET', '/api/v1/templates')).status).toBe(
      401,
    );
    expect((await suite.request('GET', '/api/v1/session', { key: '' })).status).toBe(401);
  });

  it('ends at sign-out and when its key is revoked, and ends its event stream too', async () => {
    const { cookie, body } = await signIn(await suite.keyWithRole('viewer'));
    expect((await withCookie(cookie, 'DELETE', '/api/v1/session')).status).toBe(403); // no CSRF token
    const out = await withCookie(cookie, 'DELETE', '/api/v1/session', undefined, body.csrf_token);
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^ferry_session=; .*Max-Age=0/);
    expect((await withCookie(cookie, 'GET', '/api/v1/templates')).status).toBe(401);

    const operator = await suite.keyWithRole('operator');
    const signed = await signIn(operator);
    const stream = await SseClient.open(`${suite.gatewayUrl}/api/v1/events`, { cookie: signed.cookie });
    expect(stream.status).toBe(200);
    expect((await suite.request('DELETE', `/api/v1/api-keys/${operator.split('_')[1]}`)).status).toBe(204);
    await stream.waitForEnd(15_000);
    const after = await withCookie<Problem>(signed.cookie, 'GET', '/api/v1/templates');
    expect([after.status, after.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});
