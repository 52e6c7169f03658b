import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ServiceName } from '@ferry/contracts';
import { ConfigError, loadConfig } from '../config/load-config';
import type { PlatformConfig } from '../config/platform.config';
import { createServiceDataSource, runMigrations } from '../database/service-database';
import type { ServiceDatabase } from '../database/service-database';
import { JsonLogger } from '../logging/json-logger';
import { NATS_CONNECTION } from '../nats/nats-connection';
import { FerryNatsTransport } from '../nats/nats-transport';
import { RpcErrorFilter } from '../nats/rpc-exception.filter';
import { createValidationPipe } from '../nats/validation';
import type { NatsConnection } from 'nats';

export interface ServiceDefinition<C extends PlatformConfig> {
  service: ServiceName;
  configClass: new () => C;
  database: ServiceDatabase;
  appModule: (config: C) => DynamicModule;
}

/** Loads and validates config; a bad value ends the process with a message naming the variable. */
export function prepare<C extends PlatformConfig>(
  service: ServiceName,
  configClass: new () => C,
): { config: C; logger: JsonLogger } {
  try {
    const config = loadConfig(configClass);
    const logger = new JsonLogger(service, config.LOG_LEVEL);
    Logger.overrideLogger(logger);
    return { config, logger };
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    process.stderr.write(
      JSON.stringify({ time: new Date().toISOString(), level: 'error', service, msg: message }) + '\n',
    );
    process.exit(78); // EX_CONFIG
  }
}

/**
 * SIGTERM/SIGINT close the app once: the transport stops taking work and finishes what is in flight,
 * then the platform closes NATS and Postgres. If that takes longer than the grace period plus a margin,
 * the process exits anyway rather than hang an orchestrator's rollout.
 */
export function closeOnSignals(app: INestApplicationContext, graceMs: number, logger: JsonLogger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log({ msg: 'shutting down', signal }, 'Bootstrap');
    setTimeout(() => {
      logger.error({ msg: 'shutdown took too long; exiting' }, 'Bootstrap');
      process.exit(1);
    }, graceMs + 5000).unref();
    app.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ msg: 'error during shutdown', error: err.message }, err.stack, 'Bootstrap');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * `node main.js migrate` applies the service's migrations and exits: returns true when it was asked
 * to and did so, false when the process should start normally.
 */
export async function migrateIfAsked(
  service: ServiceName,
  database: ServiceDatabase,
  config: PlatformConfig,
  logger: JsonLogger,
): Promise<boolean> {
  if (!process.argv.slice(2).includes('migrate')) return false;
  const ds = createServiceDataSource(database, {
    url: config.DATABASE_URL,
    poolSize: 2,
    applicationName: `${service}-migrate`,
  });
  await ds.initialize();
  try {
    const ran = await runMigrations(ds, database.schema);
    logger.log({ msg: 'migrations done', schema: database.schema, ran }, 'Migrations');
  } finally {
    await ds.destroy();
  }
  return true;
}

/** Starts a NATS-only service: the main.ts of every service except the gateway is one call to this. */
export async function bootstrapService<C extends PlatformConfig>(def: ServiceDefinition<C>): Promise<void> {
  const { config, logger } = prepare(def.service, def.configClass);
  if (await migrateIfAsked(def.service, def.database, config, logger)) return;
  const transport = new FerryNatsTransport(
    def.service,
    config.SHUTDOWN_GRACE_MS,
    config.NATS_MAX_CONCURRENT_REQUESTS,
  );
  const app = await NestFactory.createMicroservice(def.appModule(config), { strategy: transport, logger });
  transport.useConnection(app.get<NatsConnection>(NATS_CONNECTION));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new RpcErrorFilter());
  closeOnSignals(app, config.SHUTDOWN_GRACE_MS, logger);
  await app.listen();
  logger.log({ msg: 'ready', service: def.service }, 'Bootstrap');
}

/** Runs `main` and turns a start-up failure into one log line and a non-zero exit. */
export function runMain(service: ServiceName, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        service,
        msg: 'failed to start',
        error: err.message,
        stack: err.stack,
      }) + '\n',
    );
    process.exit(1);
  });
}
