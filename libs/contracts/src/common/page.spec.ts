import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { FerryError } from '../errors/ferry-error';
import { ListDisksRequest } from '../disks/disk.dto';
import { PAGE_LIMIT_DEFAULT, PageQuery, decodeCursor, encodeCursor, pageLimit } from './page';

const ID = '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b';
const AT = '2026-12-06T10:08:38.123456+00:00';

/** The fields a query string (every value a string) fails on. */
function failing(query: Record<string, string>, cls: new () => object = PageQuery): string[] {
  return validateSync(plainToInstance(cls, query)).map((e) => e.property);
}

function refusal(cursor: string): unknown {
  try {
    decodeCursor(cursor, ['time', 'uuid']);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('cursor codec', () => {
  it('round-trips a sort key through an opaque base64url cursor', () => {
    const cursor = encodeCursor([AT, ID]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, ['time', 'uuid'])).toEqual([AT, ID]);
    expect(decodeCursor(encodeCursor(['débit/ä', ID]), ['text', 'uuid'])).toEqual(['débit/ä', ID]);
    expect(decodeCursor(encodeCursor(['42']), ['int'])).toEqual(['42']);
    expect(() => decodeCursor(encodeCursor(['4.2']), ['int'])).toThrow(FerryError);
  });

  it('refuses anything but a cursor of this shape with VALIDATION naming cursor', () => {
    const bad = [
      'not a cursor!',
      'Zm9v', // "foo": not JSON
      encodeCursor([AT]), // too short
      encodeCursor([AT, ID, 'x']), // too long
      encodeCursor(['yesterday', ID]), // not a time
      encodeCursor([AT, 'vm-1001']), // not a UUID
      encodeCursor([AT, '12']), // a number is not a UUID either
      Buffer.from(JSON.stringify({ at: AT, id: ID })).toString('base64url'), // not an array
      Buffer.from(JSON.stringify([1, ID])).toString('base64url'), // not a string
    ];
    for (const cursor of bad) {
      const err = refusal(cursor);
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({ code: 'VALIDATION', details: { fields: [{ field: 'cursor' }] } });
    }
  });
});

describe('PageQuery', () => {
  it('takes a limit of 1 to 1000 from a query string and any short cursor', () => {
    expect(failing({})).toEqual([]);
    expect(failing({ limit: '1' })).toEqual([]);
    expect(failing({ limit: '1000', cursor: 'abc' })).toEqual([]);
    expect(plainToInstance(PageQuery, { limit: '25' }).limit).toBe(25);
  });

  it('refuses a limit outside 1–1000 or not an integer, and an over-long cursor', () => {
    for (const limit of ['0', '1001', '-5', '2.5', 'ten', '']) expect(failing({ limit })).toEqual(['limit']);
    expect(failing({ cursor: 'a'.repeat(513) })).toEqual(['cursor']);
  });

  it('is part of a list query, beside its filters', () => {
    expect(failing({ state: 'available', limit: '10' }, ListDisksRequest)).toEqual([]);
    expect(failing({ state: 'available', limit: '5000' }, ListDisksRequest)).toEqual(['limit']);
  });

  it('defaults to 100 items', () => {
    expect(pageLimit({})).toBe(PAGE_LIMIT_DEFAULT);
    expect(PAGE_LIMIT_DEFAULT).toBe(100);
    expect(pageLimit({ limit: 7 })).toBe(7);
  });
});
