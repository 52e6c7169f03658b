import { FerryError, GIB } from '@ferry/contracts';
import { checkFits } from './imports.service';

describe('checkFits', () => {
  const MiB = 1024 ** 2;
  const at = { directory: '/var/lib/ferry/disks', marginBytes: 1024 * MiB, reservedBytes: 0 };

  it('accepts an image that fits with the margin to spare, even exactly', () => {
    expect(() => checkFits({ ...at, requiredBytes: 10 * GIB, freeBytes: 11 * GIB })).not.toThrow();
    expect(() =>
      checkFits({ ...at, requiredBytes: 10 * GIB, freeBytes: 10 * GIB + 1024 * MiB }),
    ).not.toThrow();
  });

  it('refuses one that does not, with 422 naming what it needs, the margin and what is free', () => {
    let err: unknown;
    try {
      checkFits({ ...at, requiredBytes: 10 * GIB, freeBytes: 10 * GIB + 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('UNPROCESSABLE');
    expect((err as FerryError).message).toBe(
      'not enough space: the disk needs 10.0 GiB (10737418240 bytes) plus a margin of 1.0 GiB (VOLUME_IMPORT_SPACE_MARGIN_MIB), and /var/lib/ferry/disks has 10.0 GiB (10737418241 bytes) free',
    );
    expect((err as FerryError).details).toEqual({
      requiredBytes: 10 * GIB,
      marginBytes: 1024 * MiB,
      freeBytes: 10 * GIB + 1,
      reservedBytes: 0,
    });
  });

  it('counts what the imports in flight still need as taken', () => {
    expect(() =>
      checkFits({ ...at, requiredBytes: 4 * GIB, freeBytes: 10 * GIB, reservedBytes: 5 * GIB }),
    ).not.toThrow();
    expect(() =>
      checkFits({ ...at, requiredBytes: 4 * GIB, freeBytes: 10 * GIB, reservedBytes: 6 * GIB }),
    ).toThrow(
      /has 10\.0 GiB \(10737418240 bytes\) free, of which 6\.0 GiB \(6442450944 bytes\) the imports in flight still need$/,
    );
  });
});
