import { PlatformConfig } from '@ferry/platform';

/** observer settings; its own variables arrive with its features. */
export class ObserverConfig extends PlatformConfig {}
