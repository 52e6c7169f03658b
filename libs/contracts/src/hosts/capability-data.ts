/**
 * What a host can do (seed 003's HostCapabilityData), as discovered by a driver. Every field is a
 * `Fact`: its value, where it came from, and — when it could not be discovered — `null` with the
 * reason. `null` means "unknown", never "no": a host without SEV has `sev.value === false`.
 *
 * Only stable facts belong here (capacities, not current usage): a refresh that finds the same facts
 * writes no new version.
 */
export interface Fact<T> {
  value: T | null;
  /** Where it came from, e.g. `/proc/cpuinfo`, `virsh capabilities`, `QMP query-kvm`. */
  source: string;
  /** Why the value is null; absent when it is known. */
  reason?: string;
}

export function known<T>(value: T, source: string): Fact<T> {
  return { value, source };
}

export function unknown<T>(source: string, reason: string): Fact<T> {
  return { value: null, source, reason };
}

/** Drivers that discover capabilities. */
export const DISCOVERY_DRIVERS = ['local', 'libvirt'] as const;
export type DiscoveryDriver = (typeof DISCOVERY_DRIVERS)[number];

export interface HostInfo {
  hostname: Fact<string>;
  /** e.g. x86_64. */
  arch: Fact<string>;
  /** e.g. `AMD EPYC 7B13` or libvirt's model name `EPYC-Milan`. */
  cpu_model: Fact<string>;
  /** e.g. `GenuineIntel`, `AuthenticAMD` (local) or `Intel`, `AMD` (libvirt). */
  cpu_vendor: Fact<string>;
  numa_nodes: Fact<number>;
  sockets: Fact<number>;
  cores_per_socket: Fact<number>;
  threads_per_core: Fact<number>;
  /** Logical CPUs the host schedules on. */
  logical_cpus: Fact<number>;
  /** Kernel release (local driver; libvirt does not report it). */
  kernel: Fact<string>;
}

export interface CpuCapabilityInfo {
  /** CPU feature flags, lower case as Linux names them (`avx2`, `vmx`, `sse4_2`), sorted. */
  features: Fact<string[]>;
  /** CPU models QEMU/libvirt can offer a guest, sorted. */
  models: Fact<string[]>;
  /** Intel VT-x. */
  vmx: Fact<boolean>;
  /** AMD-V. */
  svm: Fact<boolean>;
  /** Whether `host-passthrough` can be used (needs KVM). */
  host_passthrough: Fact<boolean>;
  /** The CPU model `host-model` resolves to, if offered. */
  host_model: Fact<string>;
}

export interface MemoryCapabilityInfo {
  total_mb: Fact<number>;
  /** Hugepage sizes the kernel offers, in KiB, sorted. */
  hugepage_sizes_kb: Fact<number[]>;
  /** Hugepages reserved per size (KiB → count). */
  hugepages_total: Fact<Record<string, number>>;
  /** The selected mode: `always`, `madvise` or `never`. */
  transparent_hugepage: Fact<string>;
  /** KSM is built into the kernel. */
  ksm_available: Fact<boolean>;
  /** KSM is merging pages now. */
  ksm_running: Fact<boolean>;
  /** A virtio memory balloon device can be given to guests. */
  balloon: Fact<boolean>;
}

export interface SecurityCapabilityInfo {
  /** Host security drivers, e.g. `apparmor`, `selinux`, `dac`, sorted. */
  security_models: Fact<string[]>;
  /** UEFI firmware for guests is installed/offered. */
  uefi: Fact<boolean>;
  /** A Secure Boot capable UEFI firmware is offered. */
  secure_boot: Fact<boolean>;
  /** Host TPM devices, e.g. `/dev/tpm0`, sorted. */
  tpm_devices: Fact<string[]>;
  /** Guest TPM models, e.g. `tpm-crb`, `tpm-tis`, sorted. */
  tpm_models: Fact<string[]>;
  /** Guest TPM backends, e.g. `emulator`, `passthrough`, sorted. */
  tpm_backends: Fact<string[]>;
  /** A guest can get a TPM 2.0 (a model plus a backend that can give 2.0). */
  tpm_2_0: Fact<boolean>;
  /** AMD SEV is usable for guests. */
  sev: Fact<boolean>;
  /** An IOMMU is active (device isolation, passthrough). */
  iommu: Fact<boolean>;
  iommu_groups: Fact<number>;
}

export interface StorageCapabilityInfo {
  /** Image formats qemu-img can handle, sorted. */
  image_formats: Fact<string[]>;
  /** Storage pool types libvirt supports, sorted. */
  pool_types: Fact<string[]>;
  /** Disk buses a guest disk can use, e.g. `sata`, `scsi`, `virtio`, sorted. */
  disk_buses: Fact<string[]>;
  /** Encrypted images (LUKS) are supported. */
  encryption: Fact<boolean>;
  /** Per-disk I/O throttling (QEMU block throttle groups). */
  io_throttling: Fact<boolean>;
  /** Capacity for guest disks, in GiB. */
  disk_total_gb: Fact<number>;
}

export interface NetworkCapabilityInfo {
  /** Physical and virtual interfaces of the host (excluding `lo`), sorted. */
  interfaces: Fact<string[]>;
  bridges: Fact<string[]>;
  /** Guest NIC models, e.g. `e1000e`, `virtio-net-pci`, sorted. */
  nic_models: Fact<string[]>;
  virtio_net: Fact<boolean>;
  /** 802.1Q VLAN tagging (kernel support). */
  vlan: Fact<boolean>;
  /** Interfaces with SR-IOV virtual functions (name → total VFs). */
  sriov: Fact<Record<string, number>>;
}

export interface VirtualizationCapabilityInfo {
  /** e.g. `QEMU`. */
  hypervisor: Fact<string>;
  /** e.g. `7.2.15`. */
  hypervisor_version: Fact<string>;
  /** Domain types offered: `kvm` (hardware) and/or `qemu` (TCG), sorted. */
  domain_types: Fact<string[]>;
  /** KVM really runs guests here (present and usable). */
  kvm: Fact<boolean>;
  /** Nested virtualisation is enabled in the KVM module. */
  nested: Fact<boolean>;
  /** Machine types, e.g. `pc-q35-7.2`, `q35`, `pc`, sorted. */
  machine_types: Fact<string[]>;
  /** Guest architectures, sorted. */
  guest_arches: Fact<string[]>;
  /** Maximum vCPUs of one guest. */
  max_vcpus: Fact<number>;
  /** Largest guest memory the host can back, in MiB. */
  max_memory_mb: Fact<number>;
}

export interface HostCapabilityData {
  host: HostInfo;
  cpu: CpuCapabilityInfo;
  memory: MemoryCapabilityInfo;
  security: SecurityCapabilityInfo;
  storage: StorageCapabilityInfo;
  network: NetworkCapabilityInfo;
  virtualization: VirtualizationCapabilityInfo;
}

export const CAPABILITY_CATEGORIES = [
  'host',
  'cpu',
  'memory',
  'security',
  'storage',
  'network',
  'virtualization',
] as const satisfies readonly (keyof HostCapabilityData)[];
