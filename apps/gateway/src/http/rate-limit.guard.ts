import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { parseApiKeyId } from '../auth/api-key.format';
import { GatewayConfig } from '../config/gateway.config';
import { RateLimiter } from './rate-limiter';

/** Runs before authentication so that floods of bad keys are limited too: by key id, else by address. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: RateLimiter;

  constructor(config: GatewayConfig) {
    this.limiter = new RateLimiter(config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.limiter.enabled) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const key = presentedKey(req);
    const keyId = key ? parseApiKeyId(key) : undefined;
    const wait = this.limiter.take(keyId ? `key:${keyId}` : `ip:${req.ip}`);
    if (wait === 0) return true;
    ctx.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(wait));
    throw new FerryError('RATE_LIMITED', `too many requests; retry in ${wait} s`, {
      retryAfterSeconds: wait,
    });
  }
}
