import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayConfig } from '../config/gateway.config';
import { ApiErrors } from '../http/api-errors.decorator';
import { cookieOf } from './credentials';
import { CreateSessionRequest, SessionDto } from './dto/session.dto';
import { Public, RequireRole } from './roles';
import type { Session } from './sessions.service';
import { SESSION_COOKIE, SessionsService } from './sessions.service';

function toDto(s: Session): SessionDto {
  return {
    key_id: s.principal.keyId,
    name: s.principal.name,
    role: s.principal.role,
    expires_at: s.expiresAt.toISOString(),
    csrf_token: s.csrfToken,
  };
}

/**
 * Browser sign-in (the console): a key pasted once becomes an HttpOnly, SameSite=Strict cookie, so no
 * key sits in the page's storage. Scripts keep using `Authorization: Bearer <key>`.
 */
@ApiTags('session')
@Controller('session')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly config: GatewayConfig,
  ) {}

  // Not @Idempotent(): the response sets a secret cookie, which a stored response would keep.
  @Post()
  @Public()
  @HttpCode(201)
  @ApiOperation({ summary: 'Sign in with an API key (browser session)', security: [] })
  @ApiCreatedResponse({
    type: SessionDto,
    description:
      'Signed in: `Set-Cookie: ferry_session=…; HttpOnly; SameSite=Strict; Path=/` (and `Secure` over HTTPS, see SESSION_COOKIE_SECURE), valid for SESSION_TTL_MS or until the key is revoked. The body has the role and the CSRF token that changes must carry in `X-CSRF-Token`. 401: the key is unknown, revoked or malformed; no cookie is set.',
  })
  @ApiErrors(400, 401, 429, 503)
  async create(
    @Body() body: CreateSessionRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionDto> {
    const session = await this.sessions.create(body.key);
    void reply.header(
      'set-cookie',
      this.cookie(req, session.token, Math.floor(this.config.SESSION_TTL_MS / 1000)),
    );
    void reply.header('cache-control', 'no-store');
    return toDto(session);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({
    type: SessionDto,
    description:
      'The session of the cookie: who, which role, until when, and its CSRF token (a reloaded page reads it here). 401 without a session (a key in a header is not one).',
  })
  @ApiErrors(401, 503)
  async get(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionDto> {
    void reply.header('cache-control', 'no-store');
    return toDto(await this.sessions.authenticate(this.token(req)));
  }

  @Delete()
  @RequireRole('viewer')
  @HttpCode(204)
  @ApiNoContentResponse({
    description: 'Signed out: the cookie is cleared and no longer works anywhere. Needs `X-CSRF-Token`.',
  })
  @ApiErrors(401, 403, 503)
  async delete(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.sessions.delete(this.token(req));
    void reply.header('set-cookie', this.cookie(req, '', 0));
  }

  private token(req: FastifyRequest): string {
    const token = cookieOf(req, SESSION_COOKIE);
    if (!token) throw new FerryError('UNAUTHENTICATED', 'no session: sign in with POST /api/v1/session');
    return token;
  }

  private cookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
    const setting = this.config.SESSION_COOKIE_SECURE;
    const secure = setting === 'auto' ? req.protocol === 'https' : setting === 'true';
    return [
      `${SESSION_COOKIE}=${value}`,
      'HttpOnly',
      'SameSite=Strict',
      'Path=/',
      `Max-Age=${maxAgeSeconds}`,
      ...(secure ? ['Secure'] : []),
    ].join('; ');
  }
}
