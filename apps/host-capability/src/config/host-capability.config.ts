import { PlatformConfig } from '@ferry/platform';

/** host-capability settings; its own variables arrive with its features. */
export class HostCapabilityConfig extends PlatformConfig {}
