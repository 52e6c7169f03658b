import { Logger } from '@nestjs/common';
import type { CustomTransportStrategy, MessageHandler } from '@nestjs/microservices';
import { NatsContext, Server } from '@nestjs/microservices';
import { CORRELATION_HEADER, TIMEOUT_HEADER, FerryError } from '@ferry/contracts';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { isObservable, lastValueFrom } from 'rxjs';
import { acceptCorrelationId, runWithContext } from '../context/request-context';
import type { RpcReply } from './codec';
import { decodeJson, encodeJson } from './codec';
import { toRpcErrorBody } from './rpc-error';

/**
 * Nest transport on the `nats` client. Each @MessagePattern subject is subscribed in the queue group
 * named after the service, so replicas share the load. Requests are plain JSON DTOs; replies are
 * `{data}` or `{error: {code, message, details}}`. The correlation id travels in a header and is put
 * into the async context of the handler, so logs and events carry it.
 *
 * close() stops taking work first (drains the subscriptions: no new messages, the ones already
 * received are handled), then waits for in-flight handlers up to the grace period. The platform drains
 * the connection afterwards, so a SIGTERM never cuts a reply in half.
 */
export class FerryNatsTransport extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger(FerryNatsTransport.name);
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private nc?: NatsConnection;

  constructor(
    private readonly queue: string,
    private readonly graceMs: number,
    /** Requests handled at once; one more is answered UNAVAILABLE at once (NATS_MAX_CONCURRENT_REQUESTS). */
    private readonly maxConcurrent = 256,
  ) {
    super();
  }

  useConnection(nc: NatsConnection): void {
    this.nc = nc;
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    const nc = this.nc;
    if (!nc) throw new Error('FerryNatsTransport.useConnection() must be called before listen()');
    for (const [subject, handler] of this.messageHandlers) {
      if (handler.isEventHandler) continue;
      const sub = nc.subscribe(subject, {
        queue: this.queue,
        callback: (err, msg) => {
          if (err) {
            this.logger.error({ msg: 'subscription error', subject, error: err.message });
            return;
          }
          if (this.inFlight.size >= this.maxConcurrent) {
            this.respond(subject, msg, {
              error: new FerryError(
                'UNAVAILABLE',
                `${this.queue} is busy with ${this.inFlight.size} requests; retry shortly`,
              ).toBody(),
            });
            return;
          }
          const work = this.handle(subject, handler, msg).finally(() => this.inFlight.delete(work));
          this.inFlight.add(work);
        },
      });
      this.subscriptions.push(sub);
    }
    this.logger.log({ msg: 'serving', queue: this.queue, subjects: [...this.messageHandlers.keys()] });
    callback();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.subscriptions.map((sub) => sub.drain()));
    this.subscriptions.length = 0;
    if (this.inFlight.size > 0) {
      this.logger.log({ msg: 'waiting for in-flight requests', count: this.inFlight.size });
      const grace = new Promise<void>((resolve) => setTimeout(resolve, this.graceMs).unref());
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    }
  }

  on(): never {
    throw new Error('FerryNatsTransport does not expose events');
  }

  unwrap<T>(): T {
    return this.nc as T;
  }

  private async handle(subject: string, handler: MessageHandler, msg: Msg): Promise<void> {
    const correlationId = acceptCorrelationId(msg.headers?.get(CORRELATION_HEADER));
    const timeoutMs = Number(msg.headers?.get(TIMEOUT_HEADER) || NaN);
    const signal = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    await runWithContext({ correlationId, ...(signal ? { signal } : {}) }, async () => {
      const reply = await this.invoke(subject, handler, msg);
      if (signal?.aborted) {
        this.logger.warn({ msg: 'answer dropped: its caller gave up', subject, correlationId });
        return;
      }
      this.respond(subject, msg, reply);
    });
  }

  /**
   * Sends the reply unless it is larger than the broker accepts: then the caller gets a clear error
   * (and this log a line) instead of a silent timeout.
   */
  private respond(subject: string, msg: Msg, reply: RpcReply<unknown>): void {
    if (!msg.reply) return;
    let body = encodeJson(reply);
    const limit = this.nc?.info?.max_payload ?? Infinity;
    if (body.length > limit) {
      this.logger.error({
        msg: 'reply exceeds the broker payload limit',
        subject,
        bytes: body.length,
        limit,
      });
      body = encodeJson({
        error: new FerryError(
          'UNPROCESSABLE',
          `the answer to ${subject} (${body.length} bytes) exceeds the broker's payload limit (${limit} bytes); ask for less, e.g. a smaller page`,
          { subject, bytes: body.length, limit },
        ).toBody(),
      });
    }
    try {
      // No headers on the reply: the caller already knows its correlation id.
      msg.respond(body);
    } catch (err) {
      this.logger.warn({ msg: 'could not send reply', subject, error: (err as Error).message });
    }
  }

  private async invoke(subject: string, handler: MessageHandler, msg: Msg): Promise<RpcReply<unknown>> {
    let payload: unknown;
    try {
      payload = decodeJson(msg.data) ?? {};
    } catch {
      return { error: new FerryError('VALIDATION', 'request body is not valid JSON').toBody() };
    }
    try {
      const result: unknown = await handler(payload, new NatsContext([subject, msg.headers]));
      const data = isObservable(result) ? await lastValueFrom(result, { defaultValue: null }) : result;
      return { data: data ?? null };
    } catch (err) {
      // The global RpcErrorFilter has already logged and shaped known errors; this is the last guard.
      return { error: toRpcErrorBody(err, this.logger, subject) };
    }
  }
}
