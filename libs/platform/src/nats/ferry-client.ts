import { Inject, Injectable } from '@nestjs/common';
import type { ReplyOf, RequestOf, RpcSubject } from '@ferry/contracts';
import { CORRELATION_HEADER, FerryError, isRpcErrorBody } from '@ferry/contracts';
import type { NatsConnection } from 'nats';
import { ErrorCode as NatsErrorCode, NatsError, headers } from 'nats';
import { currentCorrelationId } from '../context/request-context';
import { PlatformConfig } from '../config/platform.config';
import { decodeJson, encodeJson } from './codec';
import { NATS_CONNECTION } from './nats-connection';

export interface SendOptions {
  /** Deadline in milliseconds; defaults to NATS_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * Typed request/reply over NATS. Every call has a deadline, carries the current correlation id, and
 * either resolves with the reply or rejects with a FerryError: the remote's own error, UNAVAILABLE
 * when nobody serves the subject (or the broker is unreachable), TIMEOUT when the deadline passes.
 */
@Injectable()
export class FerryClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly config: PlatformConfig,
  ) {}

  async send<S extends RpcSubject>(
    subject: S,
    request: RequestOf<S>,
    options: SendOptions = {},
  ): Promise<ReplyOf<S>> {
    const timeout = options.timeoutMs ?? this.config.NATS_REQUEST_TIMEOUT_MS;
    const h = headers();
    const correlationId = currentCorrelationId();
    if (correlationId) h.set(CORRELATION_HEADER, correlationId);
    let reply;
    try {
      reply = await this.nc.request(subject, encodeJson(request), { timeout, headers: h });
    } catch (err) {
      throw translateNatsError(err, subject, timeout);
    }
    const body = decodeJson(reply.data) as { data?: unknown; error?: unknown } | undefined;
    if (body && isRpcErrorBody(body.error)) throw FerryError.fromBody(body.error);
    if (!body || !('data' in body)) {
      throw new FerryError('INTERNAL', `malformed reply on ${subject}`);
    }
    return body.data as ReplyOf<S>;
  }
}

export function translateNatsError(err: unknown, subject: string, timeoutMs: number): FerryError {
  if (err instanceof NatsError) {
    switch (err.code) {
      case NatsErrorCode.NoResponders:
        return new FerryError('UNAVAILABLE', `no service is serving ${subject}`, { subject });
      case NatsErrorCode.Timeout:
        return new FerryError('TIMEOUT', `${subject} did not answer within ${timeoutMs} ms`, {
          subject,
          timeoutMs,
        });
      case NatsErrorCode.ConnectionClosed:
      case NatsErrorCode.ConnectionDraining:
      case NatsErrorCode.Disconnect:
        return new FerryError('UNAVAILABLE', `message broker unavailable (${err.code})`, { subject });
      default:
        break;
    }
  }
  return new FerryError('INTERNAL', `request on ${subject} failed`, { subject });
}
