import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { PlatformModule } from '@ferry/platform';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeysController } from './auth/api-keys.controller';
import { ApiKeysRepository } from './auth/api-keys.repository';
import { ApiKeysService } from './auth/api-keys.service';
import { Authenticator } from './auth/credentials';
import { SessionsController } from './auth/sessions.controller';
import { SessionsService } from './auth/sessions.service';
import type { GatewayConfig } from './config/gateway.config';
import { GATEWAY_DATABASE } from './database/gateway.database';
import { EventStreamService } from './events/event-stream.service';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { ProblemFilter } from './http/problem.filter';
import { RateLimitGuard } from './http/rate-limit.guard';
import { RateLimits } from './http/rate-limits';
import { CredentialSealer } from './inspector/credential-sealer';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyRepository } from './idempotency/idempotency.repository';
import { TemplatesController } from './templates/templates.controller';
import { VmsController } from './vms/vms.controller';
import { DisksController } from './disks/disks.controller';
import { VolumeOperationsController } from './disks/volume-operations.controller';
import { FailoverController } from './failover/failover.controller';
import { MigrationsController } from './migrations/migrations.controller';
import { CoherenceController } from './coherence/coherence.controller';
import { InspectorController } from './inspector/inspector.controller';
import {
  CustomTraitsController,
  PlacementPoliciesController,
  QosPoliciesController,
  ResourceClassesController,
  TraitsController,
} from './hosts/catalog.controllers';
import { HostsController, PlacementController } from './hosts/hosts.controller';

@Module({})
export class AppModule {
  static register(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'gateway',
          config,
          database: GATEWAY_DATABASE,
          healthOverNats: false,
        }),
      ],
      controllers: [
        HealthController,
        TemplatesController,
        InspectorController,
        VmsController,
        DisksController,
        VolumeOperationsController,
        FailoverController,
        MigrationsController,
        CoherenceController,
        HostsController,
        PlacementController,
        TraitsController,
        CustomTraitsController,
        ResourceClassesController,
        PlacementPoliciesController,
        QosPoliciesController,
        EventsController,
        ApiKeysController,
        SessionsController,
      ],
      providers: [
        ApiKeysRepository,
        ApiKeysService,
        SessionsService,
        Authenticator,
        IdempotencyRepository,
        IdempotencyInterceptor,
        EventStreamService,
        RateLimits,
        CredentialSealer,
        // Guards run in this order: limit by address first (bad keys are limited too), then
        // authenticate, and limit by the verified key.
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
