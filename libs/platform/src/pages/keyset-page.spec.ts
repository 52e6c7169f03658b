import { FerryError, PageQuery, decodeCursor } from '@ferry/contracts';
import { createValidationPipe } from '../nats/validation';
import { allPages } from './all-pages';
import { keysetSql, pageOf, pageOfNamed } from './keyset-page';

const rows = [1, 2, 3, 4, 5].map((n) => ({ at: `2026-12-0${n}T00:00:00.000001+00:00`, id: `id-${n}` }));

describe('pageOf', () => {
  it('keeps `limit` rows and names the last one kept when a further row was read', () => {
    const page = pageOf(
      rows.slice(0, 3),
      2,
      (r) => [r.at, r.id],
      (r) => r.id,
    );
    expect(page.items).toEqual(['id-1', 'id-2']);
    expect(decodeCursor(page.next_cursor!, ['time', 'text'])).toEqual([rows[1]!.at, 'id-2']);
  });

  it('has no next cursor on the last page, full or not', () => {
    expect(
      pageOf(
        rows.slice(0, 2),
        2,
        (r) => [r.at, r.id],
        (r) => r.id,
      ).next_cursor,
    ).toBeNull();
    expect(
      pageOf(
        [],
        2,
        (r: { id: string }) => [r.id],
        (r) => r,
      ),
    ).toEqual({ items: [], next_cursor: null });
  });
});

describe('pageOfNamed', () => {
  it('pages a sorted list after the last name listed', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const first = pageOfNamed(names, { limit: 2 }, (n) => n);
    expect(first.items).toEqual(['a', 'b']);
    const second = pageOfNamed(names, { limit: 2, cursor: first.next_cursor! }, (n) => n);
    expect(second.items).toEqual(['c', 'd']);
    expect(pageOfNamed(names, { limit: 2, cursor: second.next_cursor! }, (n) => n)).toEqual({
      items: ['e'],
      next_cursor: null,
    });
  });
});

describe('keysetSql', () => {
  it('orders by the key and compares the row with the cursor, nothing on the first page', () => {
    expect(keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 3)).toEqual({
      after: '($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))',
      orderBy: 'created_at, id',
    });
  });

  it('lists newest first with desc', () => {
    expect(keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 1, 'desc')).toEqual({
      after: '($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid))',
      orderBy: 'created_at DESC, id DESC',
    });
  });
});

describe('allPages', () => {
  it('follows next_cursor until the last page', async () => {
    const asked: Array<string | undefined> = [];
    const all = await allPages(async (cursor) => {
      asked.push(cursor);
      const from = cursor ? Number(cursor) : 0;
      return {
        items: rows.slice(from, from + 2),
        next_cursor: from + 2 < rows.length ? String(from + 2) : null,
      };
    });
    expect(all).toEqual(rows);
    expect(asked).toEqual([undefined, '2', '4']);
  });

  it('takes a reply without next_cursor as the only page, and stops on a cursor that repeats', async () => {
    expect(await allPages(async () => ({ items: [1, 2] }))).toEqual([1, 2]);
    await expect(allPages(async () => ({ items: [1], next_cursor: 'same' }))).rejects.toThrow(/twice/);
  });
});

describe('PageQuery through the validation pipe', () => {
  const pipe = createValidationPipe();
  const check = (value: Record<string, string>) =>
    pipe.transform(value, { type: 'query', metatype: PageQuery }) as Promise<PageQuery>;

  it('turns ?limit= into a number', async () => {
    expect(await check({ limit: '10', cursor: 'abc' })).toEqual({ limit: 10, cursor: 'abc' });
  });

  it('refuses a limit over 1000 with VALIDATION naming limit', async () => {
    const err = await check({ limit: '1001' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'VALIDATION', details: { fields: [{ field: 'limit' }] } });
  });
});
