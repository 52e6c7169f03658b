import type { Provider } from '@nestjs/common';
import { CredentialsCipher } from '@ferry/platform';
import { CleanupConfig } from '../config/cleanup.config';

/** The cipher of migrations' vCenter credentials at rest (CLEANUP_CREDENTIALS_KEY). */
export class MigrationCipher extends CredentialsCipher {}

export const migrationCipherProvider: Provider = {
  provide: MigrationCipher,
  inject: [CleanupConfig],
  useFactory: (config: CleanupConfig) =>
    new MigrationCipher(config.CLEANUP_CREDENTIALS_KEY, 'CLEANUP_CREDENTIALS_KEY'),
};
