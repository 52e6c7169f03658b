import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { VolumeDaemonConfig } from './config/volume-daemon.config';
import { VOLUME_DATABASE } from './database/volume-daemon.database';

runMain('volume-daemon', () =>
  bootstrapService({
    service: 'volume-daemon',
    configClass: VolumeDaemonConfig,
    database: VOLUME_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
