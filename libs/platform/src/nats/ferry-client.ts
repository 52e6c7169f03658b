import type { OnApplicationShutdown } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { ReplyOf, RequestOf, RpcSubject } from '@ferry/contracts';
import { CORRELATION_HEADER, TIMEOUT_HEADER, FerryError, isRpcErrorBody } from '@ferry/contracts';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { ErrorCode as NatsErrorCode, NatsError, createInbox, headers } from 'nats';
import { currentCorrelationId } from '../context/request-context';
import { PlatformConfig } from '../config/platform.config';
import { decodeJson, encodeJson } from './codec';
import { NATS_CONNECTION } from './nats-connection';

export interface SendOptions {
  /** Deadline in milliseconds; defaults to NATS_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

interface Pending {
  resolve: (msg: Msg) => void;
  reject: (err: FerryError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Typed request/reply over NATS. Every call has a deadline, carries the current correlation id, and
 * either resolves with the reply or rejects with a FerryError: the remote's own error, UNAVAILABLE
 * when nobody serves the subject (or the broker is unreachable), TIMEOUT when the deadline passes.
 *
 * Replies come back on one wildcard inbox subscription under the connection's inbox prefix, matched
 * by token. This is what nats.js's request() does too, but nats.js builds two Error objects (with
 * stack traces) per request, which was the gateway's largest cost after the socket writes.
 */
@Injectable()
export class FerryClient implements OnApplicationShutdown {
  // The connection's own prefix (`_INBOX_<service>`): the broker lets only this service read it.
  private readonly inbox: string;
  private readonly pending = new Map<string, Pending>();
  private readonly subscription: Subscription;
  private next = 0;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly config: PlatformConfig,
  ) {
    this.inbox = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    this.subscription = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onReply(msg) });
  }

  async send<S extends RpcSubject>(
    subject: S,
    request: RequestOf<S>,
    options: SendOptions = {},
  ): Promise<ReplyOf<S>> {
    const timeoutMs = options.timeoutMs ?? this.config.NATS_REQUEST_TIMEOUT_MS;
    const msg = await this.request(subject, encodeJson(request), timeoutMs);
    const body = decodeJson(msg.data) as { data?: unknown; error?: unknown } | undefined;
    if (body && isRpcErrorBody(body.error)) throw FerryError.fromBody(body.error);
    if (!body || !('data' in body)) throw new FerryError('INTERNAL', `malformed reply on ${subject}`);
    return body.data as ReplyOf<S>;
  }

  // Not onModuleDestroy: Nest runs that before the HTTP server stops, and would fail requests the
  // gateway is still finishing.
  onApplicationShutdown(): void {
    this.subscription.unsubscribe();
    for (const [token, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new FerryError('UNAVAILABLE', 'the client is shutting down'));
      this.pending.delete(token);
    }
  }

  private request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Msg> {
    const token = (this.next++).toString(36);
    const h = headers();
    const correlationId = currentCorrelationId();
    if (correlationId) h.set(CORRELATION_HEADER, correlationId);
    h.set(TIMEOUT_HEADER, String(timeoutMs));
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(
          new FerryError('TIMEOUT', `${subject} did not answer within ${timeoutMs} ms`, {
            subject,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(translateNatsError(err, subject, timeoutMs));
      }
    }).then((msg) => {
      // The server answers "503" with an empty body when no one subscribes to the subject.
      if (msg.data.length === 0 && msg.headers?.code === 503) {
        throw new FerryError('UNAVAILABLE', `no service is serving ${subject}`, { subject });
      }
      return msg;
    });
  }

  private onReply(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const p = this.pending.get(token);
    if (!p) return; // late reply after its deadline
    this.pending.delete(token);
    clearTimeout(p.timer);
    p.resolve(msg);
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
