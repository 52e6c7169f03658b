import type { V2vRunOptions } from './v2v-run';
import { runV2v } from './v2v-run';
import type { V2vConversion, V2vDisk } from './v2v-types';

export type ConvertInPlaceOptions = V2vRunOptions & {
  /** Default `virt-v2v-in-place`. */
  virtV2vInPlace?: string;
};

/**
 * Converts a guest to run on KVM by rewriting its disk images in place (`virt-v2v-in-place`, what
 * Forklift runs): VMware Tools removed, virtio drivers in the initramfs, the bootloader's
 * configuration regenerated, `/dev/sdX` names in fstab and the bootloader renamed to `/dev/vdX`, a
 * first-boot script that installs qemu-guest-agent. No backup: the caller converts a copy or a
 * volume it can recreate. Resolves with what virt-v2v did and how long each stage took; rejects
 * with a V2vError carrying virt-v2v's reason (a guest it cannot convert is `failed`, its reason
 * e.g. "virt-v2v is unable to convert this guest type (linux/unknown)").
 */
export function convertInPlace(disks: V2vDisk[], options: ConvertInPlaceOptions): Promise<V2vConversion> {
  return runV2v(options.virtV2vInPlace ?? 'virt-v2v-in-place', disks, options);
}
