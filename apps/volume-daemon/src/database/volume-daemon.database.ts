import type { ServiceDatabase } from '@ferry/platform';
import { VolumeDaemonInit1732233600000 } from './migrations/1732233600000-init';
import { VolumeDisks1732234100000 } from './migrations/1732234100000-disks';
import { VolumeImports1764547200000 } from './migrations/1764547200000-imports';
import { VolumeFixes1765000000000 } from './migrations/1765000000000-fixes';
import { VolumeDisksPage1765100000000 } from './migrations/1765100000000-disks-page';

export const VOLUME_DATABASE: ServiceDatabase = {
  schema: 'volume',
  entities: [],
  migrations: [
    VolumeDaemonInit1732233600000,
    VolumeDisks1732234100000,
    VolumeImports1764547200000,
    VolumeFixes1765000000000,
    VolumeDisksPage1765100000000,
  ],
};
