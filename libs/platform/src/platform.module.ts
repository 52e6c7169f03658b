import type { DynamicModule, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ServiceName } from '@ferry/contracts';
import type { NatsConnection } from 'nats';
import { DataSource } from 'typeorm';
import { PlatformConfig } from './config/platform.config';
import { OutboxRelay } from './database/outbox-relay';
import { OutboxRepository } from './database/outbox.repository';
import type { ServiceDatabase } from './database/service-database';
import { createServiceDataSource, runMigrations } from './database/service-database';
import { Transactional } from './database/transactional';
import { EventFactory } from './events/event-factory';
import { createHealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { FerryClient } from './nats/ferry-client';
import { NATS_CONNECTION, connectNats } from './nats/nats-connection';
import { inboxPrefixOf } from './nats/nats-permissions';

export const SERVICE_NAME = Symbol('SERVICE_NAME');

export interface PlatformModuleOptions<C extends PlatformConfig> {
  service: ServiceName;
  config: C;
  database: ServiceDatabase;
  /** Answer `<service>.health.ping` over NATS (the gateway reports its own health over HTTP). */
  healthOverNats?: boolean;
}

@Injectable()
class PlatformLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Platform');

  constructor(
    private readonly relay: OutboxRelay,
    private readonly ds: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  // Runs after the transport stopped taking work and in-flight requests finished.
  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.nc
      .drain()
      .catch((err: Error) => this.logger.warn({ msg: 'NATS drain failed', error: err.message }));
    await this.ds.destroy();
    this.logger.log({ msg: 'closed NATS and Postgres' });
  }
}

/**
 * Everything a service stands on: its validated config, the NATS connection and typed client, its
 * DataSource (migrated), the outbox with its relay, the event factory and the health ping.
 */
export class PlatformModule {
  static forService<C extends PlatformConfig>(options: PlatformModuleOptions<C>): DynamicModule {
    const { service, config, database } = options;
    const instance = config.INSTANCE_NAME || service;
    const outbox = new OutboxRepository(database.schema);
    return {
      module: PlatformModule,
      global: true,
      controllers: options.healthOverNats === false ? [] : [createHealthController(service)],
      providers: [
        { provide: SERVICE_NAME, useValue: service },
        { provide: PlatformConfig, useValue: config },
        { provide: config.constructor, useValue: config },
        { provide: OutboxRepository, useValue: outbox },
        { provide: EventFactory, useValue: new EventFactory(service) },
        {
          provide: NATS_CONNECTION,
          useFactory: () =>
            connectNats(config.NATS_URL, instance, {
              inboxPrefix: inboxPrefixOf(service),
              tls: {
                caFile: config.NATS_TLS_CA_FILE,
                certFile: config.NATS_TLS_CERT_FILE,
                keyFile: config.NATS_TLS_KEY_FILE,
              },
            }),
        },
        {
          provide: DataSource,
          useFactory: async () => {
            const ds = createServiceDataSource(database, {
              url: config.DATABASE_URL,
              poolSize: config.DB_POOL_SIZE,
              applicationName: instance,
            });
            await ds.initialize();
            if (config.DB_MIGRATE_ON_START) {
              const ran = await runMigrations(ds, database.schema);
              if (ran.length > 0)
                new Logger('Migrations').log({ msg: 'applied migrations', schema: database.schema, ran });
            }
            return ds;
          },
        },
        {
          provide: OutboxRelay,
          inject: [DataSource, NATS_CONNECTION],
          useFactory: (ds: DataSource, nc: NatsConnection) =>
            new OutboxRelay(ds, nc, outbox, {
              pollMs: config.OUTBOX_POLL_MS,
              lingerMs: config.OUTBOX_LINGER_MS,
              streamReplicas: config.EVENTS_STREAM_REPLICAS,
            }),
        },
        {
          provide: Transactional,
          inject: [DataSource, OutboxRelay],
          useFactory: (ds: DataSource, relay: OutboxRelay) => new Transactional(ds, outbox, relay),
        },
        {
          provide: HealthService,
          inject: [DataSource, NATS_CONNECTION],
          useFactory: (ds: DataSource, nc: NatsConnection) => new HealthService(service, ds, nc),
        },
        FerryClient,
        PlatformLifecycle,
      ],
      exports: [
        SERVICE_NAME,
        PlatformConfig,
        config.constructor,
        OutboxRepository,
        EventFactory,
        NATS_CONNECTION,
        DataSource,
        OutboxRelay,
        Transactional,
        HealthService,
        FerryClient,
      ],
    };
  }
}
