import { Logger } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

/**
 * Connects to NATS and never gives up: the first connection waits for the server, and a lost
 * connection is retried forever, so a broker restart heals without restarting the service.
 */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  const logger = new Logger('Nats');
  const nc = await connect({
    servers: servers.split(','),
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
  });
  logger.log({ msg: 'connected to NATS', server: nc.getServer() });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        logger.warn({ msg: `NATS ${s.type}`, data: String(s.data) });
      }
    }
  })();
  return nc;
}
