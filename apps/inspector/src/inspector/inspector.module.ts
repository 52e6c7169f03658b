import { Module } from '@nestjs/common';
import { InspectorConfig } from '../config/inspector.config';
import { CredentialsCipher, WireKeyPair } from '@ferry/platform';
import { QueueRepository } from '../queue/queue.repository';
import { InspectionRunner } from '../runner/inspection-runner';
import { SourceFactory } from '../sources/source-factory';
import { InspectorController } from './inspector.controller';
import { InspectorService } from './inspector.service';

/** Seed 000's inspector: the run, its queue and the runner; it lends exports its cipher, runner and sources. */
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
      useFactory: (config: InspectorConfig) =>
        new CredentialsCipher(config.INSPECTOR_CREDENTIALS_KEY, 'INSPECTOR_CREDENTIALS_KEY'),
    },
    // What callers seal vCenter passwords with, from the same key: every replica opens them.
    { provide: WireKeyPair, inject: [CredentialsCipher], useFactory: (c: CredentialsCipher) => c.wireKeys() },
  ],
  exports: [CredentialsCipher, WireKeyPair, InspectionRunner, SourceFactory],
})
export class InspectorModule {}
