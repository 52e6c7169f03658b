import 'reflect-metadata';
import { bootstrapService, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { VmOperatorConfig } from './config/vm-operator.config';
import { VM_OPERATOR_DATABASE } from './database/vm-operator.database';

runMain('vm-operator', () =>
  bootstrapService({
    service: 'vm-operator',
    configClass: VmOperatorConfig,
    database: VM_OPERATOR_DATABASE,
    appModule: (config) => AppModule.register(config),
  }),
);
