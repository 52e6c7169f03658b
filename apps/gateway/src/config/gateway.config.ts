import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { PlatformConfig } from '@ferry/platform';

export class GatewayConfig extends PlatformConfig {
  /** HTTP port of the gateway. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 8080;

  /** Address to bind; 0.0.0.0 in containers. */
  @IsString()
  HOST = '127.0.0.1';

  /** An admin API key (`fry_<id>_<secret>`) stored hashed at start-up, so a new install can make keys. */
  @IsOptional()
  @Matches(/^fry_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{32,}$/, {
    message: 'must look like fry_<12 alphanumerics>_<32+ chars>',
  })
  FERRY_ADMIN_API_KEY?: string;

  /** Largest request body accepted, in bytes; larger bodies get 413. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  /**
   * Time a client has to send a whole request, headers and body, in ms: a client that trickles a
   * request in (slowloris) is answered 408 and disconnected.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /**
   * A connection with no traffic either way for this long is closed, in ms. Longer than the slowest
   * route's wait (a disk import's 180 s); event streams send a heartbeat every 15 s.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  HTTP_CONNECTION_TIMEOUT_MS = 300_000;

  /** Event streams (`GET /events`) one API key may hold open at once; one more is 429. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  EVENTS_MAX_STREAMS_PER_KEY = 10;

  /** Sustained requests per second per verified API key; 0 turns all limiting off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_SECOND = 50;

  /** Requests a client may send at once above the sustained rate. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_BURST = 100;

  /**
   * Sustained requests per second per client address, counted before any key is looked at (default
   * 4 × RATE_LIMIT_PER_SECOND: several keys may share an address).
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_ADDRESS_PER_SECOND?: number;

  /** Requests an address may send at once above its sustained rate (default 4 × RATE_LIMIT_BURST). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_ADDRESS_BURST?: number;

  /** How long a verified API key is trusted before it is read again (revocation delay on other replicas), ms. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  API_KEY_CACHE_TTL_MS = 30_000;

  /** The web console's built files, served at `/`; empty: where `npm run build` puts them (dist/console). */
  @IsOptional()
  @Matches(/^(\/[^\0]*)?$/, { message: 'must be an absolute path' })
  CONSOLE_DIR = '';

  /** How long a browser session (POST /session) lasts, ms; its key's revocation ends it sooner. */
  @Type(() => Number)
  @IsInt()
  @Min(60_000)
  @Max(30 * 24 * 3_600_000)
  SESSION_TTL_MS = 8 * 3_600_000;

  /** `Secure` on the session cookie: `auto` when the request came over HTTPS, or `true`/`false`. */
  @IsIn(['auto', 'true', 'false'])
  SESSION_COOKIE_SECURE: 'auto' | 'true' | 'false' = 'auto';

  /** How long an Idempotency-Key is remembered, in hours. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  IDEMPOTENCY_TTL_HOURS = 24;

  /** Deadline of each service's health ping when /health aggregates them, ms. */
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(30_000)
  HEALTH_TIMEOUT_MS = 2000;
}
