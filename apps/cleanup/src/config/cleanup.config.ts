import { PlatformConfig } from '@ferry/platform';

/** cleanup settings; its own variables arrive with its features. */
export class CleanupConfig extends PlatformConfig {}
