import { FerryError, isRpcErrorBody } from './ferry-error';

describe('FerryError', () => {
  it('round-trips through its wire body', () => {
    const original = FerryError.conflict('template "a" already exists', { name: 'a' });
    const copy = FerryError.fromBody(JSON.parse(JSON.stringify(original.toBody())));
    expect(copy).toBeInstanceOf(FerryError);
    expect(copy.code).toBe('CONFLICT');
    expect(copy.message).toBe('template "a" already exists');
    expect(copy.details).toEqual({ name: 'a' });
  });

  it('recognises only bodies with a known code', () => {
    expect(isRpcErrorBody({ code: 'NOT_FOUND', message: 'x' })).toBe(true);
    expect(isRpcErrorBody({ code: 'TEAPOT', message: 'x' })).toBe(false);
    expect(isRpcErrorBody({ code: 'NOT_FOUND' })).toBe(false);
    expect(isRpcErrorBody(null)).toBe(false);
  });
});
