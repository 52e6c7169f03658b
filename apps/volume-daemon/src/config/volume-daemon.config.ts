import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { MAX_DISK_SIZE_GIB } from '@ferry/contracts';
import { EnvBoolean, PlatformConfig } from '@ferry/platform';
import type { BackendKind } from '../backends/volume-backend';
import { BACKEND_KINDS } from '../backends/volume-backend';

const needsCloudStack = (c: VolumeDaemonConfig) => c.VOLUME_BACKEND === 'cloudstack';

export class VolumeDaemonConfig extends PlatformConfig {
  /** `local`: qcow2 files made with qemu-img, attached through vm-operator. `cloudstack`: a CloudStack cloud. */
  @IsIn(BACKEND_KINDS)
  VOLUME_BACKEND: BackendKind = 'local';

  /** Where the local backend keeps disk images (`<dir>/<disk id>.<format>`); on the VMs' host. */
  @Matches(/^\/[^\0]*$/, { message: 'must be an absolute path' })
  VOLUME_STORAGE_DIR = '/var/lib/ferry/disks';

  /** The largest disk this daemon creates, in GiB. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_DISK_SIZE_GIB)
  VOLUME_MAX_DISK_GIB = 16_384;

  /** Deadline of each request to vm-operator, in ms (attach and detach wait for QEMU). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  VOLUME_BACKEND_TIMEOUT_MS = 30_000;

  /** How long a backend that is unavailable or timing out is retried before an operation fails, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  VOLUME_BACKEND_RETRY_MS = 60_000;

  /** How often unfinished operations of crashed replicas are looked for, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  VOLUME_RECOVERY_INTERVAL_MS = 10_000;

  /** Attempts of the emergency reattach to the appliance VM after a failed test-failover cleanup. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  VOLUME_REATTACH_ATTEMPTS = 5;

  /**
   * Directories a `file` import may read from, comma-separated absolute paths (resolved, symlinks
   * followed). Empty: file imports are refused.
   */
  @Matches(/^(\/[^,\0]*(,\/[^,\0]*)*)?$/, { message: 'must be comma-separated absolute paths' })
  VOLUME_IMPORT_DIRS = '';

  /** How many imports this daemon runs at once; the others wait, `pending`, in order. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  VOLUME_IMPORT_CONCURRENCY = 2;

  /** Whether `url` imports may use plain http (certificates are checked on https either way). */
  @IsIn(['true', 'false'])
  VOLUME_IMPORT_ALLOW_HTTP: 'true' | 'false' = 'false';

  /** Extra CA certificates (PEM) that `url` imports trust besides the system's; empty for none. */
  @Matches(/^(\/[^\0]*)?$/, { message: 'must be an absolute path or empty' })
  VOLUME_IMPORT_CA_FILE = '';

  /** Free space an import must leave in VOLUME_STORAGE_DIR, in MiB, beyond what the image needs. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  VOLUME_IMPORT_SPACE_MARGIN_MIB = 1024;

  /** Deadline of one import's convert, and of its verification, in ms (default 24 h). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  VOLUME_IMPORT_TIMEOUT_MS = 86_400_000;

  /**
   * Deadline of a guest fix's virt-v2v conversion, and of its edits' libguestfs session, in ms
   * (default 1 h: virt-v2v rebuilds the initramfs, about 3 min for a small Debian under TCG).
   */
  @Type(() => Number)
  @IsInt()
  @Min(10_000)
  VOLUME_FIX_TIMEOUT_MS = 3_600_000;

  /** The appliance VM (vm-operator name or id) a vSphere import attaches its disk to unless told otherwise. */
  @IsString()
  VOLUME_APPLIANCE_VM = 'ferry-appliance';

  /** CloudStack API endpoint, e.g. `https://cloud.example.com/client/api` (backend `cloudstack`). */
  @ValidateIf(needsCloudStack)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @ValidateBy({
    name: 'httpsUnlessAllowed',
    validator: {
      validate: (value: unknown, args) =>
        typeof value === 'string' &&
        (/^https:/i.test(value) || (args?.object as VolumeDaemonConfig).CLOUDSTACK_ALLOW_HTTP),
      defaultMessage: () =>
        'must be https:// (http sends the API key and signatures in clear; CLOUDSTACK_ALLOW_HTTP=true allows it)',
    },
  })
  CLOUDSTACK_API_URL = '';

  /** Accept an `http://` CLOUDSTACK_API_URL: the API key and request signatures then travel in clear. */
  @EnvBoolean()
  @IsBoolean()
  CLOUDSTACK_ALLOW_HTTP = false;

  /** CloudStack API key (backend `cloudstack`). */
  @ValidateIf(needsCloudStack)
  @IsString()
  @Matches(/^\S+$/, { message: 'must be set' })
  CLOUDSTACK_API_KEY = '';

  /** CloudStack secret key; signs requests and is never sent or logged (backend `cloudstack`). */
  @ValidateIf(needsCloudStack)
  @IsString()
  @Matches(/^\S+$/, { message: 'must be set' })
  CLOUDSTACK_SECRET_KEY = '';

  /** Zone in which new volumes are created (backend `cloudstack`). */
  @ValidateIf(needsCloudStack)
  @IsString()
  @Matches(/^\S+$/, { message: 'must be set' })
  CLOUDSTACK_ZONE_ID = '';

  /** Disk offering (with a custom size) of new volumes (backend `cloudstack`). */
  @ValidateIf(needsCloudStack)
  @IsString()
  @Matches(/^\S+$/, { message: 'must be set' })
  CLOUDSTACK_DISK_OFFERING_ID = '';

  /** Deadline of one CloudStack API request, in ms. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  CLOUDSTACK_REQUEST_TIMEOUT_MS = 15_000;

  /** Deadline of one CloudStack async job (polled with queryAsyncJobResult), in ms. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  CLOUDSTACK_JOB_TIMEOUT_MS = 300_000;

  /** First interval between job polls, in ms; it doubles up to 5 s. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  CLOUDSTACK_POLL_INTERVAL_MS = 500;
}
