import { Module } from '@nestjs/common';
import { InspectorConfig } from '../config/inspector.config';
import { CredentialsCipher } from '../queue/credentials-cipher';
import { QueueRepository } from '../queue/queue.repository';
import { InspectionRunner } from '../runner/inspection-runner';
import { SourceFactory } from '../sources/source-factory';
import { InspectorController } from './inspector.controller';
import { InspectorService } from './inspector.service';

@Module({
  controllers: [InspectorController],
  providers: [
    QueueRepository,
    SourceFactory,
    InspectionRunner,
    InspectorService,
    {
      provide: CredentialsCipher,
      inject: [InspectorConfig],
      useFactory: (config: InspectorConfig) => new CredentialsCipher(config.INSPECTOR_CREDENTIALS_KEY),
    },
  ],
})
export class InspectorModule {}
