import type { Page } from '@ferry/contracts';
import type { PageQuery } from '@ferry/contracts';
import { decodeCursor, encodeCursor, pageLimit } from '@ferry/contracts';

/**
 * A page from rows read with `LIMIT limit + 1` in keyset order: the extra row only tells that a next
 * page exists, whose cursor is the sort key of the last row kept.
 */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => string[],
  map: (row: R) => T,
): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return {
    items: kept.map(map),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}

/**
 * SQL of a keyset: `ORDER BY` the columns and the condition "after the cursor's key", whose values are
 * parameters `$first`, `$first+1`, … (bound to null on the first page). `types` are the SQL types of
 * the columns, e.g. `['timestamptz', 'uuid']`; `desc` lists newest first. Cursor values of a
 * timestamptz column must be read with `keysetTime(column)`: a JS Date drops Postgres's microseconds.
 */
export function keysetSql(
  columns: readonly string[],
  types: readonly string[],
  first: number,
  direction: 'asc' | 'desc' = 'asc',
): { after: string; orderBy: string } {
  const params = columns.map((_, i) => `$${first + i}::${types[i]}`);
  const compare = direction === 'asc' ? '>' : '<';
  return {
    after: `($${first}::${types[0]} IS NULL OR (${columns.join(', ')}) ${compare} (${params.join(', ')}))`,
    orderBy: columns.map((c) => (direction === 'asc' ? c : `${c} DESC`)).join(', '),
  };
}

/** A timestamptz column as ISO text with its microseconds, for a cursor. */
export function keysetTime(column: string): string {
  return `to_json(${column}) #>> '{}'`;
}

/**
 * A page of a list computed in memory (a short list that is not one table, e.g. traits): `items`
 * sorted by `nameOf`, a unique name, ascending; the cursor is the last name listed.
 */
export function pageOfNamed<T>(items: readonly T[], query: PageQuery, nameOf: (item: T) => string): Page<T> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['text'])[0]!;
  const limit = pageLimit(query);
  const rest = after === undefined ? items : items.filter((t) => nameOf(t) > after);
  return pageOf(
    rest.slice(0, limit + 1),
    limit,
    (t) => [nameOf(t)],
    (t) => t,
  );
}
