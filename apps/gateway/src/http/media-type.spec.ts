import { preferredMediaType } from './media-type';

const OFFERED = ['application/json', 'text/plain'] as const;

describe('preferredMediaType', () => {
  it('gives the default without an Accept header, or for */*', () => {
    expect(preferredMediaType(undefined, OFFERED)).toBe('application/json');
    expect(preferredMediaType('', OFFERED)).toBe('application/json');
    expect(preferredMediaType('*/*', OFFERED)).toBe('application/json');
  });

  it('gives what the client names, with or without parameters and in any case', () => {
    expect(preferredMediaType('text/plain', OFFERED)).toBe('text/plain');
    expect(preferredMediaType('Text/Plain; charset=utf-8', OFFERED)).toBe('text/plain');
    expect(preferredMediaType('text/*', OFFERED)).toBe('text/plain');
    expect(preferredMediaType('application/json', OFFERED)).toBe('application/json');
  });

  it('follows q values, and the most specific range of each type', () => {
    expect(preferredMediaType('application/json;q=0.5, text/plain', OFFERED)).toBe('text/plain');
    expect(preferredMediaType('text/plain;q=0.2, */*;q=0.9', OFFERED)).toBe('application/json');
    // A browser's Accept: */* at 0.8 would give JSON, and text/html names neither.
    expect(preferredMediaType('text/html,application/xhtml+xml,*/*;q=0.8', OFFERED)).toBe('application/json');
    expect(preferredMediaType('text/plain;q=0, */*', OFFERED)).toBe('application/json');
  });

  it('keeps the default on a tie, and when nothing offered is acceptable', () => {
    expect(preferredMediaType('text/plain, application/json', OFFERED)).toBe('application/json');
    expect(preferredMediaType('image/png', OFFERED)).toBe('application/json');
    expect(preferredMediaType('garbage, ;;, /', OFFERED)).toBe('application/json');
  });
});
