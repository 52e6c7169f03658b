/** One disk of a vm-operator VM, read from its image file without booting anything. */
export interface LocalDiskFacts {
  deviceId: string;
  /** The image that was read (frozen by the snapshot while it was read). */
  path: string;
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes: number | null;
  /** `qemu-img info --backing-chain`, the image first. */
  backingChain: { path: string; format: string; virtualSizeBytes: number }[];
  partitionTable: PartitionTableFacts | null;
}

export interface PartitionTableFacts {
  /** `gpt`, `mbr`, or `none` when the disk has no partition table. */
  type: 'gpt' | 'mbr' | 'none';
  /** GPT disk GUID. */
  diskGuid?: string;
  partitions: PartitionFacts[];
}

export interface PartitionFacts {
  number: number;
  startBytes: number;
  sizeBytes: number;
  /** GPT type GUID or MBR type byte (hex, e.g. `0x83`). */
  typeId: string;
  /** What the type means: `efi-system`, `linux-filesystem`, `linux-swap`, `bios-boot`, `microsoft-basic-data`, … */
  kind: string;
  /** GPT partition name. */
  name?: string;
  /** GPT unique partition GUID. */
  guid?: string;
  bootable?: boolean;
}

/** virt-inspector's view of the guest (seed 001 INSPECT): read-only facts, never guesses. */
export interface GuestFacts {
  /** The root filesystem's device, as libguestfs names it (`/dev/sda1`: the first disk given). */
  root: string;
  /** The vm-operator device id of the disk holding the root; null when it is not on one partition (LVM). */
  rootDiskId: string | null;
  /** linux, windows, freebsd, … */
  osType: string | null;
  /** debian, ubuntu, rhel, fedora, … */
  distro: string | null;
  majorVersion: number | null;
  minorVersion: number | null;
  productName: string | null;
  arch: string | null;
  hostname: string | null;
  /** deb, rpm, … */
  packageFormat: string | null;
  packageManagement: string | null;
  /** An EFI system partition means UEFI; without one, BIOS. */
  firmware: 'uefi' | 'bios';
  /**
   * libguestfs's mountpoints from the guest's fstab, devices resolved to the appliance's names
   * (`UUID=…` → `/dev/sda1`); a spec libguestfs cannot resolve (`/dev/disk/by-path/…`) is kept as written.
   */
  mountpoints: { device: string; path: string }[];
  /**
   * Every filesystem libguestfs found, with blkid's tags: `partuuid` is the partition's own id
   * (PART_ENTRY_UUID: a GPT partition GUID, or `<MBR disk id>-<NN>`), null when the filesystem is
   * not on a partition; absent in inspections made before it was recorded.
   */
  filesystems: {
    device: string;
    type: string | null;
    uuid: string | null;
    label: string | null;
    partuuid?: string | null;
  }[];
  /**
   * `/etc/fstab` entries as written in the guest; empty when there is none (Windows) or it could not
   * be read (then `mountpoints` still shows what libguestfs made of it).
   */
  fstab: { spec: string; path: string; type: string | null; options: string | null }[];
  /** VMware tools found in the guest: the files that show them (`/usr/bin/vmtoolsd, /etc/vmware-tools`), else null. */
  vmwareTools: string | null;
}
