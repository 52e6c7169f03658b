import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { InspectorConfig } from './config/inspector.config';
import { INSPECTOR_DATABASE } from './database/inspector.database';

runMain('inspector', () =>
  bootstrapService({
    service: 'inspector',
    configClass: InspectorConfig,
    database: INSPECTOR_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
