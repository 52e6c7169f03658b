import type { DiskDto } from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

/**
 * `GET /events` under abuse (issue 18): a cap on streams per key, a stream that ends when its key is
 * revoked, and each role's view of event data matching REST's (image paths only to admins).
 */
describe('event streams: per-key cap, revocation, role views', () => {
  let suite: Suite;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    suite = await Suite.start(['volume-daemon', 'vm-operator', 'gateway'], {
      EVENTS_MAX_STREAMS_PER_KEY: '2',
    });
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await suite?.dispose();
  });

  const open = async (key: string, query = '') => {
    const s = await SseClient.open(`${suite.gatewayUrl}/api/v1/events${query}`, {
      authorization: `Bearer ${key}`,
    });
    streams.push(s);
    return s;
  };
  const keyId = (key: string) => key.split('_')[1]!;

  it('refuses a key a stream past EVENTS_MAX_STREAMS_PER_KEY with 429, and gives it one again when one closes', async () => {
    const viewer = await suite.keyWithRole('viewer');
    const [a, b] = [await open(viewer), await open(viewer)];
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await open(viewer);
    expect(third.status).toBe(429);
    // Another key is not affected.
    expect((await open(await suite.keyWithRole('viewer'))).status).toBe(200);
    a.close();
    // The gateway sees the closed connection a moment later.
    const again = await eventually(async () => {
      const s = await open(viewer);
      if (s.status === 200) return s;
      s.close();
      return undefined;
    });
    expect(again.status).toBe(200);
  });

  it('ends a stream once its key is revoked', async () => {
    const operator = await suite.keyWithRole('operator');
    const stream = await open(operator);
    expect(stream.status).toBe(200);
    expect((await suite.request('DELETE', `/api/v1/api-keys/${keyId(operator)}`)).status).toBe(204);
    await stream.waitForEnd(15_000);
    expect((await open(operator)).status).toBe(401);
  });

  it('shows image paths to admins only, as REST does', async () => {
    const viewerStream = await open(await suite.keyWithRole('viewer'), '?type=ferry.volume-daemon.disk.');
    const adminStream = await open(suite.adminKey, '?type=ferry.volume-daemon.disk.');
    const created = await suite.request<DiskDto>('POST', '/api/v1/disks', {
      body: { name: randomName('d'), size: 1 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const createdEvent = (m: { data: { subject?: string; type: string } }) =>
      m.data.subject === id && m.data.type === 'ferry.volume-daemon.disk.created';
    const forAdmin = await adminStream.waitFor(createdEvent);
    const forViewer = await viewerStream.waitFor(createdEvent);
    expect((forAdmin.data.data as { disk: DiskDto }).disk.path).toEqual(expect.stringMatching(/^\//));
    expect((forViewer.data.data as { disk: DiskDto }).disk).not.toHaveProperty('path');
    expect((forViewer.data.data as { disk: DiskDto }).disk.id).toBe(id);
    // REST's view for a viewer, the same.
    const viewer = await suite.keyWithRole('viewer');
    const rest = await suite.request<DiskDto>('GET', `/api/v1/disks/${id}`, { key: viewer });
    expect(rest.body).not.toHaveProperty('path');
  });
});
