import { Logger } from '@nestjs/common';
import type { ConnectionOptions, NatsConnection } from 'nats';
import { connect } from 'nats';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

const MAX_BACKOFF_MS = 5000;

export interface NatsServers {
  servers: string[];
  user?: string;
  pass?: string;
}

/**
 * Splits `nats://user:password@host:port,...` into servers and credentials: nats.js ignores
 * credentials inside server URLs, and they must not reach logs either.
 */
export function parseNatsUrl(url: string): NatsServers {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(',').map((entry) => {
    const u = new URL(entry);
    if (u.username) {
      user = decodeURIComponent(u.username);
      pass = decodeURIComponent(u.password);
    }
    return `${u.protocol}//${u.host}`;
  });
  return user === undefined ? { servers } : { servers, user, pass };
}

/** How a service connects besides its URL: its private inbox prefix and TLS files. */
export interface NatsConnectOptions {
  /** Reply subjects start with it (`_INBOX_<service>`, see inboxPrefixOf); default nats.js's `_INBOX`. */
  inboxPrefix?: string;
  /** PEM files: the CA that signed the broker's certificate, and a client certificate and key if the broker asks for one. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** TLS is used when the URL says `tls://` or a TLS file is given; files left empty are not passed. */
export function natsTlsOptions(
  url: string,
  files: { caFile?: string; certFile?: string; keyFile?: string },
): ConnectionOptions['tls'] {
  const given = Object.fromEntries(Object.entries(files).filter(([, v]) => v));
  return Object.keys(given).length > 0 || /(^|,)tls:\/\//.test(url) ? given : undefined;
}

/**
 * Connects to NATS and never gives up: the first connection is retried until the broker answers, and
 * a lost connection is retried forever, so a broker restart heals without restarting the service.
 * Each failed first attempt is logged with its reason (nats.js's own waitOnFirstConnect retries
 * silently, which hides a wrong password behind a service that just never becomes ready).
 */
export async function connectNats(
  servers: string,
  name: string,
  options: NatsConnectOptions = {},
): Promise<NatsConnection> {
  const tls = natsTlsOptions(servers, options.tls ?? {});
  const logger = new Logger('Nats');
  let backoff = 250;
  let nc: NatsConnection | undefined;
  while (!nc) {
    try {
      nc = await connect({
        ...parseNatsUrl(servers),
        name,
        ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
        ...(tls ? { tls } : {}),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 250,
        pingInterval: 10_000,
        maxPingOut: 3,
      });
    } catch (err) {
      logger.error({
        msg: 'cannot connect to NATS; retrying',
        error: (err as Error).message,
        retryInMs: backoff,
      });
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
  logger.log({ msg: 'connected to NATS', server: nc.getServer() });
  const connection = nc;
  void (async () => {
    for await (const s of connection.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        logger.warn({ msg: `NATS ${s.type}`, data: String(s.data) });
      }
    }
  })();
  return nc;
}
