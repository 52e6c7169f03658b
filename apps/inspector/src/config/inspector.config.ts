import { PlatformConfig } from '@ferry/platform';

/** inspector settings; its own variables arrive with its features. */
export class InspectorConfig extends PlatformConfig {}
