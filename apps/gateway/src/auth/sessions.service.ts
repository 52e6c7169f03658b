import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { DataSource } from 'typeorm';
import { GatewayConfig } from '../config/gateway.config';
import { hashesEqual } from './api-key.format';
import { ApiKeysService } from './api-keys.service';
import type { Principal } from './roles';

/** The cookie that carries a browser session. */
export const SESSION_COOKIE = 'ferry_session';
/** The header a session's changes carry its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  principal: Principal;
  expiresAt: Date;
  /** What the page sends in X-CSRF-Token with each change; derived from the cookie, never stored. */
  csrfToken: string;
}

const SESSION_TOKEN = /^fs_[A-Za-z0-9_-]{43}$/;
/** A session is answered from memory this long (revocation of its key still applies: see principalOf). */
const CACHE_TTL_MS = 5_000;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Browser sessions (issue 19): an API key, pasted once, becomes an HttpOnly cookie, so no key sits in
 * the page's storage. A session has its key's role and ends with it (revoked) or at SESSION_TTL_MS;
 * the database keeps only the SHA-256 of its cookie. Changes made with it must carry its CSRF token.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  private readonly cache = new Map<string, { keyId: string; expiresAt: Date; until: number }>();

  constructor(
    private readonly ds: DataSource,
    private readonly keys: ApiKeysService,
    private readonly config: GatewayConfig,
  ) {}

  /** Signs in with a key: UNAUTHENTICATED for a bad one, before anything is stored. */
  async create(presentedKey: string): Promise<Session & { token: string }> {
    const principal = await this.keys.authenticate(presentedKey);
    const token = `fs_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + this.config.SESSION_TTL_MS);
    await this.ds.query('DELETE FROM gateway.sessions WHERE expires_at < now()');
    await this.ds.query('INSERT INTO gateway.sessions (token_hash, key_id, expires_at) VALUES ($1, $2, $3)', [
      hashOf(token),
      principal.keyId,
      expiresAt,
    ]);
    this.logger.log({ msg: 'session opened', keyId: principal.keyId, role: principal.role });
    return { token, principal, expiresAt, csrfToken: this.csrfOf(token) };
  }

  /** The session of a cookie, or UNAUTHENTICATED (unknown, signed out, expired, or its key revoked). */
  async authenticate(token: string): Promise<Session> {
    if (!SESSION_TOKEN.test(token)) throw ended();
    const hash = hashOf(token);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.until <= now) {
      const rows = (await this.ds.query(
        'SELECT key_id, expires_at FROM gateway.sessions WHERE token_hash = $1',
        [hash],
      )) as { key_id: string; expires_at: Date }[];
      const row = rows[0];
      if (!row) {
        this.cache.delete(hash);
        throw ended();
      }
      entry = { keyId: row.key_id, expiresAt: row.expires_at, until: now + CACHE_TTL_MS };
      this.cache.set(hash, entry);
      if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    }
    if (entry.expiresAt.getTime() <= now) throw ended();
    const principal = await this.keys.principalOf(entry.keyId).catch((err: FerryError) => {
      throw err.code === 'UNAUTHENTICATED' ? ended() : err;
    });
    return { principal, expiresAt: entry.expiresAt, csrfToken: this.csrfOf(token) };
  }

  /** Signs out: the cookie no longer works, here at once and within 5 s on other replicas. */
  async delete(token: string): Promise<void> {
    const hash = hashOf(token);
    this.cache.delete(hash);
    await this.ds.query('DELETE FROM gateway.sessions WHERE token_hash = $1', [hash]);
  }

  /** Whether `presented` is the CSRF token of session `token`. */
  csrfMatches(token: string, presented: string | undefined): boolean {
    return typeof presented === 'string' && /^[0-9a-f]{64}$/.test(presented)
      ? hashesEqual(presented, this.csrfOf(token))
      : false;
  }

  private csrfOf(token: string): string {
    return createHmac('sha256', token).update('ferry-csrf').digest('hex');
  }
}

function ended(): FerryError {
  return new FerryError(
    'UNAUTHENTICATED',
    'the session has ended (signed out, expired, or its key revoked); sign in again',
  );
}
