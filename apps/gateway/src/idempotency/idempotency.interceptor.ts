import { createHash } from 'node:crypto';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { isSecretKey, redactText } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { catchError, from, of, switchMap, throwError } from 'rxjs';
import { GatewayConfig } from '../config/gateway.config';
import { IdempotencyRepository } from './idempotency.repository';

const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/**
 * Key order does not change the meaning of a JSON body, so it must not change the fingerprint.
 * Secrets (a vCenter password, a key: `isSecretKey`) are left out, and passwords inside URLs and
 * Ferry API keys inside strings are blanked, so that the stored fingerprint cannot be used to test
 * guesses of them.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as object)
      // A secret's own value goes; an object under a secret-looking key (`VcenterCredentials`) is
      // walked, since its URL and user still tell one request from another.
      .filter((k) => !isSecretKey(k) || typeof (value as Record<string, unknown>)[k] === 'object')
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  if (typeof value === 'string') return JSON.stringify(redactText(value));
  return JSON.stringify(value ?? null);
}

export function fingerprintOf(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/**
 * `Idempotency-Key` on POST: the first request runs and its response is kept; a retry with the same
 * key and body gets that response again (with `Idempotent-Replayed: true`); the same key with another
 * body gets 422; a retry while the first is still running gets 409. A failed request releases its key,
 * so the client can retry it.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);
  private lastPurge = 0;

  constructor(
    private readonly records: IdempotencyRepository,
    private readonly config: GatewayConfig,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const raw = req.headers['idempotency-key'];
    if (req.method !== 'POST' || raw === undefined) return next.handle();
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || !KEY_PATTERN.test(key)) {
      return throwError(
        () => new FerryError('VALIDATION', 'Idempotency-Key must be 1-255 visible ASCII characters'),
      );
    }
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const principal = req.principal?.keyId ?? 'anonymous';
    const fingerprint = fingerprintOf(req.method, req.url, req.body);
    this.purgeNowAndThen();
    return from(this.records.claim(principal, key, fingerprint, this.config.IDEMPOTENCY_TTL_HOURS)).pipe(
      switchMap((existing) => {
        if (!existing) return this.runFirst(next, reply, principal, key);
        if (existing.fingerprint !== fingerprint) {
          throw new FerryError('UNPROCESSABLE', 'Idempotency-Key was already used with a different request', {
            key,
          });
        }
        if (existing.status === null) {
          throw FerryError.conflict('a request with this Idempotency-Key is still in progress', { key });
        }
        void reply.status(existing.status).header('idempotent-replayed', 'true');
        if (existing.location) void reply.header('location', existing.location);
        return of(existing.body);
      }),
    );
  }

  private runFirst(
    next: CallHandler,
    reply: FastifyReply,
    principal: string,
    key: string,
  ): Observable<unknown> {
    return next.handle().pipe(
      switchMap((body) => {
        const location = reply.getHeader('location');
        return from(
          this.records.complete(
            principal,
            key,
            reply.statusCode,
            typeof location === 'string' ? location : null,
            body,
          ),
        ).pipe(switchMap(() => of(body)));
      }),
      catchError((err: unknown) =>
        from(this.records.release(principal, key)).pipe(
          catchError((e: Error) => {
            this.logger.warn({ msg: 'could not release idempotency key', error: e.message });
            return of(undefined);
          }),
          switchMap(() => throwError(() => err)),
        ),
      ),
    );
  }

  private purgeNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastPurge < 10 * 60 * 1000) return;
    this.lastPurge = now;
    this.records
      .purgeOlderThan(this.config.IDEMPOTENCY_TTL_HOURS)
      .catch((e: Error) => this.logger.warn({ msg: 'purge failed', error: e.message }));
  }
}
