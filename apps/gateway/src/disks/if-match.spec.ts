import { FerryError } from '@ferry/contracts';
import { expectedGeneration } from './if-match';

describe('expectedGeneration', () => {
  it('reads the generation from If-Match in its usual spellings', () => {
    expect(expectedGeneration('"7"', undefined)).toBe(7);
    expect(expectedGeneration('7', undefined)).toBe(7);
    expect(expectedGeneration('W/"12"', undefined)).toBe(12);
  });

  it('falls back to the body, and accepts both when they agree', () => {
    expect(expectedGeneration(undefined, 3)).toBe(3);
    expect(expectedGeneration('"3"', 3)).toBe(3);
    expect(expectedGeneration(undefined, undefined)).toBeUndefined();
  });

  it('rejects a malformed If-Match and a disagreement with VALIDATION', () => {
    for (const [header, body] of [
      ['*', undefined],
      ['"abc"', undefined],
      ['"4"', 5],
    ] as const) {
      let caught: unknown;
      try {
        expectedGeneration(header, body);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FerryError);
      expect((caught as FerryError).code).toBe('VALIDATION');
    }
  });
});
