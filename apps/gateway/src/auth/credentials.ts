import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { FastifyRequest } from 'fastify';
import { ApiKeysService } from './api-keys.service';
import type { Principal } from './roles';
import { CSRF_HEADER, SESSION_COOKIE, SessionsService } from './sessions.service';

/** What a request presents: an API key (header), or a browser session (cookie). */
export type Credential = { kind: 'key'; key: string } | { kind: 'session'; token: string };

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const header = req.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/** The value of cookie `name` in the request's Cookie header. */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** A key in a header wins over a session cookie (a script with a key is not a browser). */
export function presentedCredential(req: FastifyRequest): Credential | undefined {
  const key = presentedKey(req);
  if (key) return { kind: 'key', key };
  const token = cookieOf(req, SESSION_COOKIE);
  return token ? { kind: 'session', token } : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One way to turn what a request presents into a principal, for the guard, /health and /events. */
@Injectable()
export class Authenticator {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly sessions: SessionsService,
  ) {}

  principalOf(credential: Credential): Promise<Principal> {
    return credential.kind === 'key'
      ? this.keys.authenticate(credential.key)
      : this.sessions.authenticate(credential.token).then((s) => s.principal);
  }

  /**
   * The principal of a request; a change made with a session must carry the session's CSRF token
   * in X-CSRF-Token (FORBIDDEN otherwise), on top of the cookie's SameSite=Strict.
   */
  async authenticate(req: FastifyRequest, credential: Credential): Promise<Principal> {
    const principal = await this.principalOf(credential);
    if (
      credential.kind === 'session' &&
      !SAFE_METHODS.has(req.method) &&
      !this.sessions.csrfMatches(credential.token, header(req, CSRF_HEADER))
    )
      throw new FerryError(
        'FORBIDDEN',
        'a change made with a session needs its CSRF token in the X-CSRF-Token header',
      );
    return principal;
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}
