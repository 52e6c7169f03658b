import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply } from 'fastify';
import { GatewayConfig } from '../config/gateway.config';
import { RateLimiter } from './rate-limiter';

/**
 * The gateway's two limits. Every request first spends from its client address's bucket, before its
 * key is looked at, so made-up keys cost their sender and nobody else; a request whose key verified
 * then spends from that key's bucket, so only the key's holder can drain it.
 */
@Injectable()
export class RateLimits {
  private readonly byAddress: RateLimiter;
  private readonly byKey: RateLimiter;

  constructor(config: GatewayConfig) {
    const perSecond = config.RATE_LIMIT_PER_SECOND;
    this.byKey = new RateLimiter(perSecond, config.RATE_LIMIT_BURST);
    // 0 per key turns limiting off altogether.
    this.byAddress = new RateLimiter(
      perSecond === 0 ? 0 : (config.RATE_LIMIT_ADDRESS_PER_SECOND ?? perSecond * 4),
      config.RATE_LIMIT_ADDRESS_BURST ?? config.RATE_LIMIT_BURST * 4,
    );
  }

  /** Before authentication: by the client's address. */
  address(ip: string, reply: FastifyReply): void {
    refuseIfEmpty(this.byAddress, `ip:${ip}`, reply);
  }

  /** After the key verified: by the key. */
  key(keyId: string, reply: FastifyReply): void {
    refuseIfEmpty(this.byKey, `key:${keyId}`, reply);
  }
}

function refuseIfEmpty(limiter: RateLimiter, client: string, reply: FastifyReply): void {
  if (!limiter.enabled) return;
  const wait = limiter.take(client);
  if (wait === 0) return;
  void reply.header('retry-after', String(wait));
  throw new FerryError('RATE_LIMITED', `too many requests; retry in ${wait} s`, { retryAfterSeconds: wait });
}
