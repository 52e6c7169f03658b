import { runWithContext } from '../context/request-context';
import { JsonLogger } from './json-logger';
import { REDACTED, redact, redactText } from './redact';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger('vm-operator', level, (l) => lines.push(JSON.parse(l)));
  return { logger, lines };
}

describe('JsonLogger', () => {
  it('writes one JSON object with service, context and the correlation id of the current request', () => {
    const { logger, lines } = capture();
    runWithContext({ correlationId: 'req-1' }, () =>
      logger.log({ msg: 'template created', template: 'small' }, 'TemplatesService'),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'vm-operator',
      context: 'TemplatesService',
      correlationId: 'req-1',
      msg: 'template created',
      template: 'small',
    });
  });

  it('redacts secrets in fields, nested objects and free text', () => {
    const { logger, lines } = capture();
    logger.warn({
      msg: 'login with fry_abcdefABCDEF_supersecretvaluethatislong',
      VcenterCredentials: { url: 'https://vc', password: 'hunter2' },
      apiKey: 'k',
    });
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('supersecretvalue');
    expect(lines[0]).toMatchObject({ VcenterCredentials: REDACTED, apiKey: REDACTED });
  });

  it('keeps the stack of errors and drops levels below the threshold', () => {
    const { logger, lines } = capture('info');
    logger.debug('hidden');
    logger.error({ msg: 'boom' }, 'Error: boom\n    at x', 'Ctx');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      msg: 'boom',
      stack: expect.stringContaining('at x'),
      context: 'Ctx',
    });
  });
});

describe('redact', () => {
  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    expect(redact(a)).toEqual({ name: 'a', self: '[Truncated]' });
  });
});

describe('redactText', () => {
  it('removes passwords from connection strings but keeps the rest', () => {
    expect(redactText('connect postgres://ferry:s3cret@db:5432/ferry failed')).toBe(
      'connect postgres://ferry:[REDACTED]@db:5432/ferry failed',
    );
    expect(redactText('nats://gateway:pw@nats:4222')).toBe('nats://gateway:[REDACTED]@nats:4222');
    expect(redactText('postgres://postgres@127.0.0.1/ferry')).toBe('postgres://postgres@127.0.0.1/ferry');
  });
});
