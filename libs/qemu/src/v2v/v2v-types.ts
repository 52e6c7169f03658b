/** One disk image of the guest, in the order the guest sees them (the boot disk first). */
export interface V2vDisk {
  path: string;
  /** Always given: virt-v2v never probes a raw image's format then. */
  format: 'raw' | 'qcow2';
}

/**
 * The steps virt-v2v announces on stdout (`[  33.5] Inspecting the source`), in its order. `other` is
 * a message this list does not know (a newer virt-v2v).
 */
export const V2V_STAGES = [
  'setup',
  'opening',
  'inspecting',
  'checking-space',
  'converting',
  'mapping',
  'closing',
  'assigning-buses',
  'checking-firmware',
  'finishing',
] as const;
export type V2vStage = (typeof V2V_STAGES)[number] | 'other';

export interface V2vProgress {
  stage: V2vStage;
  /** The message as virt-v2v printed it, without its timestamp. */
  message: string;
  /** virt-v2v's own clock: seconds since it started. */
  atSeconds: number;
  /** A rough share of the whole run done when this stage starts, 0..1 (stage weights measured here). */
  share: number;
}

/** One stage and how long it took (until the next message, or the end of the run for the last). */
export interface V2vStageTime {
  stage: V2vStage;
  message: string;
  startedAtSeconds: number;
  seconds: number;
}

/** What the conversion did to the guest, read from virt-v2v's verbose log (`-v -x`). */
export interface V2vConversionFacts {
  /** `Converting <product> to run on KVM`: the product name virt-v2v saw (`12.15` for Debian 12.5…). */
  product?: string;
  /** The conversion module it picked: `linux` or `windows`. */
  conversionModule?: string;
  /** The kernel it chose to boot (`vmlinuz-6.1.0-50-amd64`'s version), when it says so. */
  kernel?: string;
  /** Packages it removed (VMware Tools and the like), in the order it removed them. */
  removedPackages: string[];
  /** Kernel modules it asked the initramfs to include (virtio_blk, virtio_net, …). */
  initramfsModules: string[];
  /** Whether it rebuilt the initramfs (`update-initramfs`, `dracut` or `mkinitrd` ran). */
  initramfsRebuilt: boolean;
  /** Whether it regenerated the bootloader configuration (`grub-mkconfig -o …`). */
  bootloaderUpdated: boolean;
  /** The block-device renames it applied to fstab and the bootloader (`sda` → `vda`). */
  deviceMap: { from: string; to: string }[];
  /** What the guest will have on KVM (guestcaps): `virtio-blk`/`ide`, `virtio-net`/…, video, machine. */
  guestcaps: Record<string, string>;
  /** Scripts it left to run at the guest's first boot (installing qemu-guest-agent, …). */
  firstbootScripts: string[];
  /** `bios` or `uefi`: what the guest needs on the target. */
  firmware?: 'bios' | 'uefi';
}

/** The outcome of one `virt-v2v-in-place` run. */
export interface V2vConversion {
  /** Wall time of the whole run, in ms. */
  elapsedMs: number;
  stages: V2vStageTime[];
  facts: V2vConversionFacts;
  /** `virt-v2v…: warning: …` messages, without the program name (they carry what it skipped). */
  warnings: string[];
  /** Its informational lines (`This guest has virtio drivers installed.`). */
  info: string[];
  /** Where the whole verbose log is, when `logFile` was given. */
  logFile?: string;
}

export type V2vErrorKind = 'failed' | 'timeout' | 'aborted' | 'spawn';

/**
 * virt-v2v did not finish: it refused or failed (`failed`, with its own reason: "virt-v2v is unable
 * to convert this guest type (linux/unknown)", "not enough free space…"), ran past its deadline,
 * was aborted, or could not be started. `reason` is what to tell a user ("virt-v2v does not apply:
 * <reason>"); `lines` the end of its output for the log.
 */
export class V2vError extends Error {
  constructor(
    readonly kind: V2vErrorKind,
    readonly reason: string,
    readonly lines: string[] = [],
    /** The stage it was in when it stopped. */
    readonly stage: V2vStage | undefined = undefined,
    readonly exitCode: number | null = null,
  ) {
    super(`virt-v2v ${kind}${stage ? ` while ${stage}` : ''}: ${reason}`);
    this.name = 'V2vError';
  }
}
