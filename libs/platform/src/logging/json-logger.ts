import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentCorrelationId } from '../context/request-context';
import { redact, redactText } from './redact';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type FerryLogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<FerryLogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

type Sink = (line: string) => void;

/**
 * Nest logger that writes one JSON object per line to stdout, with the service name, the class that
 * logged (Nest's context), and the correlation id of the current request. Messages may be strings or
 * objects `{ msg, ...fields }`; every field is redacted before it is written.
 */
export class JsonLogger implements LoggerService {
  private readonly rank: number;

  constructor(
    private readonly service: string,
    level: FerryLogLevel = 'info',
    private readonly sink: Sink = (line) => process.stdout.write(line + '\n'),
  ) {
    this.rank = RANK[level];
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from LOG_LEVEL at start-up; Nest's own level list is not used.
  }

  isEnabled(level: FerryLogLevel): boolean {
    return RANK[level] <= this.rank;
  }

  private write(level: FerryLogLevel, message: unknown, params: unknown[], mayHaveStack = false): void {
    if (!this.isEnabled(level)) return;
    // Nest passes (message, context) or, for errors, (message, stack, context).
    const rest = [...params];
    const context =
      rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    let stack: string | undefined;
    if (mayHaveStack && typeof rest[0] === 'string') stack = rest.shift() as string;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, service: this.service };
    if (context) entry['context'] = context;
    const correlationId = currentCorrelationId();
    if (correlationId) entry['correlationId'] = correlationId;
    if (message instanceof Error) {
      entry['msg'] = redactText(message.message);
      stack ??= message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, redact(message));
    } else {
      entry['msg'] = redactText(String(message));
    }
    if (stack) entry['stack'] = redactText(stack);
    if (rest.length > 0) entry['extra'] = redact(rest);
    this.sink(JSON.stringify(entry));
  }
}
