import { FerryError } from '@ferry/contracts';
import { NatsError, ErrorCode } from 'nats';
import { translateNatsError } from './ferry-client';
import { parseNatsUrl } from './nats-connection';
import { toRpcErrorBody } from './rpc-error';
import { flattenValidationErrors } from './validation';

function fakeLogger() {
  const errors: unknown[][] = [];
  return {
    errors,
    logger: { log: jest.fn(), warn: jest.fn(), error: (...args: unknown[]) => errors.push(args) },
  };
}

describe('toRpcErrorBody', () => {
  it('keeps the code and message of a FerryError', () => {
    const { logger, errors } = fakeLogger();
    expect(toRpcErrorBody(FerryError.notFound('no such template', { name: 'x' }), logger, 's')).toEqual({
      code: 'NOT_FOUND',
      message: 'no such template',
      details: { name: 'x' },
    });
    expect(errors).toHaveLength(0);
  });

  it('turns anything else into INTERNAL, logs the stack and never echoes the message', () => {
    const { logger, errors } = fakeLogger();
    const body = toRpcErrorBody(new Error('password=hunter2 at db'), logger, 'vm-operator.template.get');
    expect(body).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.[1])).toContain('Error: password=hunter2');
  });

  it('answers UNAVAILABLE when Postgres is down or went away, and logs no stack', () => {
    const { logger, errors } = fakeLogger();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('QueryFailedError: terminating connection'), {
      driverError: Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
    });
    for (const err of [refused, shutdown, new Error('Connection terminated unexpectedly')]) {
      expect(toRpcErrorBody(err, logger, 's')).toEqual({
        code: 'UNAVAILABLE',
        message: 'the database is unavailable; try again shortly',
        details: { dependency: 'postgres' },
      });
    }
    expect(errors).toHaveLength(0);
    // A query that is wrong is still a bug.
    const syntax = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    expect(toRpcErrorBody(syntax, logger, 's').code).toBe('INTERNAL');
  });
});

describe('translateNatsError', () => {
  it.each([
    [ErrorCode.NoResponders, 'UNAVAILABLE'],
    [ErrorCode.Timeout, 'TIMEOUT'],
    [ErrorCode.ConnectionClosed, 'UNAVAILABLE'],
    [ErrorCode.BadJson, 'INTERNAL'],
  ])('maps NATS %s to %s', (natsCode, code) => {
    expect(translateNatsError(new NatsError('x', natsCode), 'a.b.c', 100).code).toBe(code);
  });
});

describe('flattenValidationErrors', () => {
  it('names nested fields with dotted paths', () => {
    const fields = flattenValidationErrors([
      {
        property: 'VcenterCredentials',
        children: [{ property: 'url', constraints: { isUrl: 'url must be a URL' }, children: [] }],
      },
      { property: 'vmIds', constraints: { arrayNotEmpty: 'vmIds should not be empty' }, children: [] },
    ]);
    expect(fields).toEqual([
      { field: 'VcenterCredentials.url', messages: ['url must be a URL'] },
      { field: 'vmIds', messages: ['vmIds should not be empty'] },
    ]);
  });
});

describe('parseNatsUrl', () => {
  it('takes credentials out of the server URLs', () => {
    expect(parseNatsUrl('nats://gateway:p%40ss@nats-0:4222,nats://nats-1:4222')).toEqual({
      servers: ['nats://nats-0:4222', 'nats://nats-1:4222'],
      user: 'gateway',
      pass: 'p@ss',
    });
    expect(parseNatsUrl('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
  });
});
