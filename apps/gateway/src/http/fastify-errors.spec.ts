import { clientErrorOf, rawProblemResponse, requestTargetOf } from './fastify-errors';
import { toProblem } from './problem';

const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('clientErrorOf', () => {
  it("tells Node's parser errors apart as Fastify does: timeout 408, headers too large 431, else 400", () => {
    expect(clientErrorOf({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }).status).toBe(408);
    expect(clientErrorOf({ code: 'HPE_HEADER_OVERFLOW' }).status).toBe(431);
    expect(clientErrorOf({ code: 'HPE_INVALID_METHOD' })).toEqual({
      status: 400,
      detail: 'the request is not valid HTTP/1.1 (HPE_INVALID_METHOD)',
    });
    expect(clientErrorOf({}).status).toBe(400);
  });
});

describe('requestTargetOf', () => {
  it('reads the target of the request line, and nothing that is not a path', () => {
    expect(requestTargetOf(Buffer.from('GET /api/v1/vms?x=1 HTTP/1.1\r\nHost: a\r\n'))).toBe(
      '/api/v1/vms?x=1',
    );
    expect(requestTargetOf(Buffer.from('GARBAGE\r\n\r\n'))).toBe('');
    expect(requestTargetOf(Buffer.from('GET http://evil/ HTTP/1.1\r\n'))).toBe('');
    expect(requestTargetOf(undefined)).toBe('');
    expect(requestTargetOf({ type: 'Buffer', data: [] })).toBe('');
  });
});

describe('rawProblemResponse', () => {
  it('is a whole HTTP/1.1 response: status line, problem headers, exact length, the problem as JSON', () => {
    const p = toProblem(Object.assign(new Error('too big'), { statusCode: 431 }), '/x', 'req-1', logger);
    const raw = rawProblemResponse(p);
    const [head, body] = raw.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(lines).toEqual(
      expect.arrayContaining([
        'content-type: application/problem+json; charset=utf-8',
        'x-request-id: req-1',
        `content-length: ${Buffer.byteLength(body!)}`,
        'connection: close',
      ]),
    );
    expect(JSON.parse(body!)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE', requestId: 'req-1' });
  });
});
