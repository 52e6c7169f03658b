import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { CleanupConfig } from './config/cleanup.config';
import { CLEANUP_DATABASE } from './database/cleanup.database';

runMain('cleanup', () =>
  bootstrapService({
    service: 'cleanup',
    configClass: CleanupConfig,
    database: CLEANUP_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
