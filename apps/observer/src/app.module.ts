import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { ObserverConfig } from './config/observer.config';
import { OBSERVER_DATABASE } from './database/observer.database';
import { CoherenceModule } from './coherence/coherence.module';

@Module({})
export class AppModule {
  static register(config: ObserverConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'observer', config, database: OBSERVER_DATABASE }),
        CoherenceModule,
      ],
    };
  }
}
