import { ErrorCodes } from '@ferry/contracts';
import { errorCodeOfHttpStatus, httpStatusOf } from './http-status';

describe('httpStatusOf', () => {
  it('maps the codes of DESIGN.md to their statuses', () => {
    expect({
      VALIDATION: httpStatusOf('VALIDATION'),
      UNAUTHENTICATED: httpStatusOf('UNAUTHENTICATED'),
      FORBIDDEN: httpStatusOf('FORBIDDEN'),
      NOT_FOUND: httpStatusOf('NOT_FOUND'),
      CONFLICT: httpStatusOf('CONFLICT'),
      LOCKED: httpStatusOf('LOCKED'),
      UNPROCESSABLE: httpStatusOf('UNPROCESSABLE'),
      UNAVAILABLE: httpStatusOf('UNAVAILABLE'),
      TIMEOUT: httpStatusOf('TIMEOUT'),
      INTERNAL: httpStatusOf('INTERNAL'),
    }).toEqual({
      VALIDATION: 400,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      LOCKED: 423,
      UNPROCESSABLE: 422,
      UNAVAILABLE: 503,
      TIMEOUT: 504,
      INTERNAL: 500,
    });
  });

  it('gives every code a distinct status that maps back to the same code', () => {
    const codes = Object.values(ErrorCodes);
    const statuses = codes.map(httpStatusOf);
    expect(new Set(statuses).size).toBe(codes.length);
    for (const code of codes) expect(errorCodeOfHttpStatus(httpStatusOf(code))).toBe(code);
  });
});

describe('errorCodeOfHttpStatus', () => {
  it('keeps every status Fastify and Node refuse a request with, each under a code of its own', () => {
    const statuses = [400, 404, 408, 413, 414, 415, 417, 431, 503];
    expect(statuses.map((s) => httpStatusOf(errorCodeOfHttpStatus(s)))).toEqual(statuses);
  });

  it('falls back to VALIDATION for other 4xx and INTERNAL for other 5xx', () => {
    expect(errorCodeOfHttpStatus(418)).toBe('VALIDATION');
    expect(errorCodeOfHttpStatus(406)).toBe('VALIDATION');
    expect(errorCodeOfHttpStatus(502)).toBe('INTERNAL');
  });
});
