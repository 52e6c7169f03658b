import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { ObserverConfig } from './config/observer.config';
import { OBSERVER_DATABASE } from './database/observer.database';

runMain('observer', () =>
  bootstrapService({
    service: 'observer',
    configClass: ObserverConfig,
    database: OBSERVER_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
