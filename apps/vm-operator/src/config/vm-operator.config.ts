import { PlatformConfig } from '@ferry/platform';

/** vm-operator settings; QEMU settings arrive with the VM lifecycle. */
export class VmOperatorConfig extends PlatformConfig {}
