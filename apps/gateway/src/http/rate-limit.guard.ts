import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimits } from './rate-limits';

/**
 * Runs before authentication and limits by client address only: a key is not trusted before it
 * verified (ApiKeyGuard then limits by key), so a made-up key neither gets a fresh bucket nor drains
 * the bucket of the key whose id it borrows.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimits) {}

  canActivate(ctx: ExecutionContext): boolean {
    const http = ctx.switchToHttp();
    this.limits.address(http.getRequest<FastifyRequest>().ip, http.getResponse<FastifyReply>());
    return true;
  }
}
