import { NotFoundException } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { toProblem } from './problem';

const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('toProblem', () => {
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

  it('hides unknown errors behind INTERNAL and logs them', () => {
    const p = toProblem(new Error('secret connection string'), '/x', 'r', logger);
    expect(p).toMatchObject({ status: 500, code: 'INTERNAL', detail: 'internal error' });
    expect(JSON.stringify(p)).not.toContain('secret');
    expect(logger.error).toHaveBeenCalled();
  });
});
