import type { DiskDto, TemplateDto } from '@ferry/contracts';
import { encodeCursor } from '@ferry/contracts';
import { randomName } from '@ferry/testing';
import type { HttpResult } from '../support/suite';
import { Suite } from '../support/suite';

interface Problem {
  status: number;
  code: string;
  errors?: { field: string; messages: string[] }[];
}

/** The path of the Link header's rel="next", or undefined on the last page. */
function nextLink(res: HttpResult): string | undefined {
  const link = res.headers.get('link');
  if (!link) return undefined;
  const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  expect(m).not.toBeNull();
  return m![1];
}

/** Lists by keyset pages (issue 18): the body stays an array, the next page is in Link and X-Next-Cursor. */
describe('paged lists through the gateway', () => {
  let suite: Suite;

  /** Every page from `first`, following Link: rel="next". */
  async function walk<T>(first: string): Promise<{ pages: T[][]; links: string[] }> {
    const pages: T[][] = [];
    const links: string[] = [];
    let path: string | undefined = first;
    while (path) {
      const res: HttpResult<T[]> = await suite.request<T[]>('GET', path);
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      pages.push(res.body);
      path = nextLink(res);
      if (path) {
        links.push(path);
        expect(new URL(path, 'http://x').searchParams.get('cursor')).toBe(res.headers.get('x-next-cursor'));
      } else expect(res.headers.get('x-next-cursor')).toBeNull();
      expect(pages.length).toBeLessThan(20);
    }
    return { pages, links };
  }

  beforeAll(async () => {
    suite = await Suite.start([
      'vm-operator',
      'volume-daemon',
      'host-capability',
      'cleanup',
      'observer',
      'gateway',
    ]);
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  it('walks 25 templates 10 at a time: every one exactly once, by name', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `${randomName('pg')}-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const res = await suite.request('POST', '/api/v1/templates', {
        body: { name, cpu_count: 1, ram_amount: 256 },
      });
      expect(res.status).toBe(201);
    }
    const { pages, links } = await walk<TemplateDto>('/api/v1/templates?limit=10');
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(links.every((l) => l.startsWith('/api/v1/templates?') && l.includes('limit=10'))).toBe(true);
    const listed = pages.flat().map((t) => t.name);
    expect(listed).toEqual([...names].sort());
    // Without a limit, one page of at most 100 holds them all.
    const all = await suite.request<TemplateDto[]>('GET', '/api/v1/templates');
    expect(all.body.map((t) => t.name)).toEqual(listed);
    expect(all.headers.get('link')).toBeNull();
  });

  it('walks 25 disks 10 at a time, oldest first, stable while disks come and go', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await suite.request<DiskDto>('POST', '/api/v1/disks', {
        body: { name: randomName('pd'), size: 1 },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const first = await suite.request<DiskDto[]>('GET', '/api/v1/disks?state=available&limit=10');
    expect(first.body.map((d) => d.id)).toEqual(ids.slice(0, 10));
    const next = nextLink(first)!;
    // The filter goes on in the next page's link.
    expect(new URL(next, 'http://x').searchParams.get('state')).toBe('available');

    // A disk of the first page deleted and one created after it change nothing already listed (no OFFSET).
    expect((await suite.request('DELETE', `/api/v1/disks/${ids[3]}`)).status).toBe(204);
    const late = await suite.request<DiskDto>('POST', '/api/v1/disks', {
      body: { name: randomName('pd'), size: 1 },
    });
    const rest = await walk<DiskDto>(next);
    expect(rest.pages.map((p) => p.length)).toEqual([10, 6]);
    const listed = [...first.body, ...rest.pages.flat()].map((d) => d.id);
    expect(listed).toEqual([...ids, late.body.id]);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('answers a cursor it did not give and a limit outside 1–1000 with 400 problem+json naming the field', async () => {
    const bad = [
      'garbage!',
      encodeCursor(['not a time', '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b']),
      encodeCursor(['2026-01-01T00:00:00+00:00']),
    ];
    for (const cursor of bad) {
      const res = await suite.request<Problem>('GET', `/api/v1/disks?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('VALIDATION');
      expect(res.body.errors?.map((e) => e.field)).toEqual(['cursor']);
    }
    const tpl = await suite.request<Problem>('GET', `/api/v1/templates?cursor=${bad[1]}`);
    expect(tpl.status).toBe(400);
    expect(tpl.body.errors?.map((e) => e.field)).toEqual(['cursor']);

    for (const limit of ['1001', '0', 'ten']) {
      for (const path of ['/api/v1/disks', '/api/v1/templates']) {
        const res = await suite.request<Problem>('GET', `${path}?limit=${limit}`);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body.errors?.map((e) => e.field)).toEqual(['limit']);
      }
    }
    expect((await suite.request('GET', '/api/v1/disks?limit=1000')).status).toBe(200);
  });

  it('pages every other list the same way: VMs, traits, API keys, and refuses bad pages on each', async () => {
    const template = randomName('pv');
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 256 },
    });
    const vms = [];
    for (let i = 0; i < 3; i++) vms.push((await suite.createVm(template, 'stopped')).id);
    const vmPages = await walk<{ id: string }>('/api/v1/vms?limit=2');
    expect(vmPages.pages.flat().map((v) => v.id)).toEqual(vms);

    // Traits are paged in memory (standard and custom, by name).
    const allTraits = (await suite.request<{ name: string }[]>('GET', '/api/v1/traits')).body.map(
      (t) => t.name,
    );
    expect(allTraits.length).toBeGreaterThan(20);
    const traitPages = await walk<{ name: string }>('/api/v1/traits?limit=20');
    expect(traitPages.pages.flat().map((t) => t.name)).toEqual(allTraits);

    // API keys live in the gateway itself.
    for (const role of ['viewer', 'operator'] as const) await suite.keyWithRole(role);
    const keys = (await suite.request<{ id: string }[]>('GET', '/api/v1/api-keys')).body.map((k) => k.id);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    const keyPages = await walk<{ id: string }>('/api/v1/api-keys?limit=1');
    expect(keyPages.pages.flat().map((k) => k.id)).toEqual(keys);

    const lists = [
      '/api/v1/vms',
      '/api/v1/hosts',
      '/api/v1/traits',
      '/api/v1/resource-classes',
      '/api/v1/failover/jobs',
      '/api/v1/migrations',
      '/api/v1/coherence/issues',
      '/api/v1/api-keys',
      `/api/v1/hosts/${vms[0]}/capabilities/history`,
    ];
    for (const path of lists) {
      const empty = path.includes('history') ? 404 : 200;
      expect([path, (await suite.request('GET', path + '?limit=1000')).status]).toEqual([path, empty]);
      for (const [query, field] of [
        ['limit=1001', 'limit'],
        ['cursor=garbage!', 'cursor'],
        [`cursor=${encodeCursor(['x', 'y', 'z'])}`, 'cursor'],
      ]) {
        const res = await suite.request<Problem>('GET', `${path}?${query}`);
        expect([path, query, res.status]).toEqual([path, query, 400]);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body.errors?.map((e) => e.field)).toEqual([field]);
      }
    }
  });
});
