import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { FerryError } from '../errors/ferry-error';
import { isUuid } from './resource-id';

/** Items in a page when the caller names no `limit`. */
export const PAGE_LIMIT_DEFAULT = 100;
/** The most items one page may hold (a NATS reply is at most 1 MiB). */
export const PAGE_LIMIT_MAX = 1000;

/**
 * `?limit=&cursor=` of every paged list, and the same fields of its NATS request. Pages are keyset
 * pages on a unique sort key: stable while rows come and go, never OFFSET.
 */
export class PageQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: PAGE_LIMIT_MAX,
    default: PAGE_LIMIT_DEFAULT,
    description: `Items per page: 1 to ${PAGE_LIMIT_MAX}, default ${PAGE_LIMIT_DEFAULT}.`,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(PAGE_LIMIT_MAX)
  limit?: number;

  @ApiPropertyOptional({
    description:
      'Opaque: the `next_cursor` of the previous page (also in its `Link: rel="next"` and `X-Next-Cursor` headers). Absent: the first page.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

/** One page of a list: `next_cursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** What each part of a cursor's key must be: a timestamp, a UUID, a whole number, or any text. */
export type CursorPart = 'time' | 'uuid' | 'int' | 'text';

/** The opaque cursor of a sort key: base64url of its JSON array. */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function badCursor(): FerryError {
  return FerryError.validation('invalid request: cursor', [
    { field: 'cursor', messages: ['cursor must be the next_cursor of a previous page of this list'] },
  ]);
}

function fits(value: unknown, part: CursorPart): value is string {
  if (typeof value !== 'string') return false;
  if (part === 'uuid') return isUuid(value);
  if (part === 'int') return /^\d{1,15}$/.test(value);
  if (part === 'time') return value.length <= 64 && !Number.isNaN(Date.parse(value));
  return value.length <= 256;
}

/** The sort key of a cursor, each part checked against `shape`; anything else is VALIDATION naming `cursor`. */
export function decodeCursor(cursor: string, shape: readonly CursorPart[]): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw badCursor();
  if (!key.every((v, i) => fits(v, shape[i]!))) throw badCursor();
  return key as string[];
}

/** The limit a page query asks for, with the default applied. */
export function pageLimit(query: PageQuery): number {
  return query.limit ?? PAGE_LIMIT_DEFAULT;
}
