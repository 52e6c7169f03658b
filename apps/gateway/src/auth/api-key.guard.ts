import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimits } from '../http/rate-limits';
import { Authenticator, presentedCredential } from './credentials';
import type { Principal, Role } from './roles';
import { PUBLIC_ROUTE, REQUIRED_ROLE, roleAllows } from './roles';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Reads need viewer and changes need operator, unless the route says otherwise. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: Authenticator,
    private readonly limits: RateLimits,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const credential = presentedCredential(req);
    if (!credential)
      throw new FerryError(
        'UNAUTHENTICATED',
        'an API key is required (Authorization: Bearer <key>), or a session (POST /api/v1/session)',
      );
    const principal = await this.auth.authenticate(req, credential);
    this.limits.key(principal.keyId, ctx.switchToHttp().getResponse<FastifyReply>());
    const required =
      this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ??
      (req.method === 'GET' || req.method === 'HEAD' ? 'viewer' : 'operator');
    if (!roleAllows(principal.role, required)) {
      throw new FerryError(
        'FORBIDDEN',
        `this action needs the ${required} role; the key has ${principal.role}`,
        {
          required,
          role: principal.role,
        },
      );
    }
    req.principal = principal;
    return true;
  }
}
