import { PlatformConfig } from '@ferry/platform';

/** volume-daemon settings; its own variables arrive with its features. */
export class VolumeDaemonConfig extends PlatformConfig {}
