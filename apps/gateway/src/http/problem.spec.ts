import { NotFoundException } from '@nestjs/common';
import { HttpException } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { RETRY_AFTER_SECONDS, problemHeaders, toProblem } from './problem';

const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('toProblem', () => {
  beforeEach(() => jest.clearAllMocks());

  it('carries the code, the status and the invalid fields of a validation error', () => {
    const p = toProblem(
      FerryError.validation('invalid request: name', [{ field: 'name', messages: ['bad'] }]),
      '/api/v1/templates',
      'r1',
      logger,
    );
    expect(p).toMatchObject({
      status: 400,
      code: 'VALIDATION',
      requestId: 'r1',
      instance: '/api/v1/templates',
      errors: [{ field: 'name', messages: ['bad'] }],
    });
    expect(p.type).toBe('urn:ferry:problem:validation');
  });

  it('maps Nest and Fastify errors by their status', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x'), '/x', 'r', logger)).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413 });
    expect(toProblem(tooLarge, '/x', 'r', logger)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('gives each status Fastify refuses a request with its own code, keeping the status', () => {
    // As Nest hands over Fastify's body errors: an HttpException with Fastify's status.
    expect(toProblem(new HttpException('Unsupported Media Type', 415), '/x', 'r', logger)).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      type: 'urn:ferry:problem:unsupported-media-type',
    });
    // As the router raises them, unwrapped, with Fastify's code beside the status.
    const tooLong = Object.assign(new Error("'/api/v1/vms/aaaa' is exceeding the max param length"), {
      code: 'FST_ERR_MAX_PARAM_LENGTH',
      statusCode: 414,
    });
    expect(toProblem(tooLong, '/api/v1/vms/aaaa', 'r', logger)).toMatchObject({
      status: 414,
      code: 'URI_TOO_LONG',
    });
    const badUrl = Object.assign(new Error('bad'), { code: 'FST_ERR_BAD_URL', statusCode: 400 });
    expect(toProblem(badUrl, '/x', 'r', logger)).toMatchObject({ status: 400, code: 'VALIDATION' });
  });

  it('answers a 4xx status without a code of its own as VALIDATION 400, so a code has one status', () => {
    expect(toProblem(new HttpException('teapot', 418), '/x', 'r', logger)).toMatchObject({
      status: 400,
      code: 'VALIDATION',
      detail: 'teapot',
    });
  });

  it('turns a Postgres that cannot be reached into 503 UNAVAILABLE, logged as a warning, not INTERNAL', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    // TypeORM wraps the driver's error in QueryFailedError, with the original as driverError.
    const wrapped = Object.assign(new Error('Connection terminated unexpectedly'), {
      name: 'QueryFailedError',
      driverError: new Error('Connection terminated unexpectedly'),
    });
    for (const err of [refused, wrapped]) {
      const p = toProblem(err, '/api/v1/templates', 'r', logger);
      expect(p).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
      expect(p.detail).not.toContain('5432');
    }
    expect(logger.error).not.toHaveBeenCalled();
    // An outage is logged once every 5 s, not once per request (noteDatabaseUnavailable).
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ msg: 'database unavailable', answered: 1 }),
    );
  });

  it('hides unknown errors behind INTERNAL and logs them', () => {
    const p = toProblem(new Error('secret connection string'), '/x', 'r', logger);
    expect(p).toMatchObject({ status: 500, code: 'INTERNAL', detail: 'internal error' });
    expect(JSON.stringify(p)).not.toContain('secret');
    expect(logger.error).toHaveBeenCalled();
  });
});

describe('problemHeaders', () => {
  const of = (err: unknown) => problemHeaders(toProblem(err, '/x', 'r', logger));

  it('sends every problem as application/problem+json', () => {
    expect(of(FerryError.notFound('x'))['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('gives every 503 a Retry-After, and no other status one', () => {
    expect(of(new FerryError('UNAVAILABLE', 'down'))['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(of(Object.assign(new Error('x'), { code: '57P01' }))['retry-after']).toBe(
      String(RETRY_AFTER_SECONDS),
    );
    expect(of(new FerryError('TIMEOUT', 'slow'))['retry-after']).toBeUndefined();
    expect(of(new FerryError('INTERNAL', 'bug'))['retry-after']).toBeUndefined();
  });

  it('challenges a 401 with Bearer', () => {
    expect(of(new FerryError('UNAUTHENTICATED', 'no key'))['www-authenticate']).toBe('Bearer');
  });
});
