import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import type { FerryLogLevel } from '../logging/json-logger';
import { LOG_LEVELS } from '../logging/json-logger';

/** Booleans from the environment: only "true"/"1" and "false"/"0" are accepted. */
export const EnvBoolean = () =>
  Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => {
    const raw = obj[key];
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return raw;
  });

/** Settings every Ferry service shares. Service config classes extend it. */
export class PlatformConfig {
  /** NATS servers, comma-separated `nats://host:port` (`tls://` for TLS). */
  @Matches(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, {
    message: 'must be nats://host:port[,nats://...]',
  })
  NATS_URL = 'nats://127.0.0.1:4222';

  /** Postgres connection string. */
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// connection string' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ferry';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: FerryLogLevel = 'info';

  /** Default deadline of every NATS request, in milliseconds. */
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(300_000)
  NATS_REQUEST_TIMEOUT_MS = 5000;

  /**
   * Requests one process handles at once; past it a request is answered UNAVAILABLE ("busy") at
   * once, so the caller retries rather than waits out its deadline.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  NATS_MAX_CONCURRENT_REQUESTS = 256;

  /** How long shutdown waits for in-flight work before it closes anyway, in milliseconds. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 10_000;

  /** Postgres pool size of this process. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  /** Fallback poll interval of the outbox relay, in milliseconds (commits wake it at once). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(60_000)
  OUTBOX_POLL_MS = 1000;

  /**
   * While commits keep coming, how long the outbox relay waits between batches so that each carries
   * more events, in milliseconds; 0 sends each commit's events at once.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  OUTBOX_LINGER_MS = 0;

  /** Replicas of FERRY_EVENTS when the stream is first created (1 on a single server, 3 in a cluster). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5)
  EVENTS_STREAM_REPLICAS = 1;

  /** Apply pending migrations at start-up; turn off when a separate `main.js migrate` job runs them. */
  @EnvBoolean()
  @IsBoolean()
  DB_MIGRATE_ON_START = true;

  /** Name this process gives NATS and Postgres connections; defaults to the service name. */
  @IsString()
  INSTANCE_NAME = '';

  /** PEM file of the CA that signed the broker's certificate (with a `tls://` NATS_URL); empty: the system CAs. */
  @IsString()
  NATS_TLS_CA_FILE = '';

  /** PEM client certificate, when the broker verifies clients' certificates; empty: none. */
  @IsString()
  NATS_TLS_CERT_FILE = '';

  /** PEM key of NATS_TLS_CERT_FILE. */
  @IsString()
  NATS_TLS_KEY_FILE = '';
}
