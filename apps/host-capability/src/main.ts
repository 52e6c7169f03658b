import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { HostCapabilityConfig } from './config/host-capability.config';
import { HOST_CAPABILITY_DATABASE } from './database/host-capability.database';

runMain('host-capability', () =>
  bootstrapService({
    service: 'host-capability',
    configClass: HostCapabilityConfig,
    database: HOST_CAPABILITY_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
