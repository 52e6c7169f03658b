import type { Provider } from '@nestjs/common';
import { FerryClient } from '@ferry/platform';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import { CloudStackBackend } from './cloudstack/cloudstack-backend';
import { LocalBackend } from './local/local-backend';
import type { VolumeBackend } from './volume-backend';

export const VOLUME_BACKEND = Symbol('VOLUME_BACKEND');

/** The backend VOLUME_BACKEND names; there is no fallback from one to the other. */
export const volumeBackendProvider: Provider = {
  provide: VOLUME_BACKEND,
  inject: [VolumeDaemonConfig, FerryClient],
  useFactory: (config: VolumeDaemonConfig, client: FerryClient): VolumeBackend => {
    switch (config.VOLUME_BACKEND) {
      case 'local':
        return new LocalBackend(client, {
          storageDir: config.VOLUME_STORAGE_DIR,
          timeoutMs: config.VOLUME_BACKEND_TIMEOUT_MS,
        });
      case 'cloudstack':
        return new CloudStackBackend({
          endpoint: config.CLOUDSTACK_API_URL,
          apiKey: config.CLOUDSTACK_API_KEY,
          secretKey: config.CLOUDSTACK_SECRET_KEY,
          zoneId: config.CLOUDSTACK_ZONE_ID,
          diskOfferingId: config.CLOUDSTACK_DISK_OFFERING_ID,
          requestTimeoutMs: config.CLOUDSTACK_REQUEST_TIMEOUT_MS,
          jobTimeoutMs: config.CLOUDSTACK_JOB_TIMEOUT_MS,
          pollIntervalMs: config.CLOUDSTACK_POLL_INTERVAL_MS,
          allowHttp: config.CLOUDSTACK_ALLOW_HTTP,
        });
      default: {
        const never: never = config.VOLUME_BACKEND;
        throw new Error(`unknown VOLUME_BACKEND ${String(never)}`);
      }
    }
  },
};
