/**
 * Standard trait names, in the style of OpenStack's os-traits. A host has a trait when its discovered
 * capabilities say so (see host-capability's `traitsOf`); custom traits (`CUSTOM_*`) are given to hosts
 * by hand through HardwareTrait.
 */
export const CPU_FLAG_TRAITS: Readonly<Record<string, string>> = {
  aes: 'HW_CPU_X86_AESNI',
  avx: 'HW_CPU_X86_AVX',
  avx2: 'HW_CPU_X86_AVX2',
  avx512f: 'HW_CPU_X86_AVX512F',
  avx512bw: 'HW_CPU_X86_AVX512BW',
  avx512cd: 'HW_CPU_X86_AVX512CD',
  avx512dq: 'HW_CPU_X86_AVX512DQ',
  avx512vl: 'HW_CPU_X86_AVX512VL',
  bmi1: 'HW_CPU_X86_BMI',
  bmi2: 'HW_CPU_X86_BMI2',
  f16c: 'HW_CPU_X86_F16C',
  fma: 'HW_CPU_X86_FMA3',
  mmx: 'HW_CPU_X86_MMX',
  sha_ni: 'HW_CPU_X86_SHA',
  sse: 'HW_CPU_X86_SSE',
  sse2: 'HW_CPU_X86_SSE2',
  pni: 'HW_CPU_X86_SSE3',
  ssse3: 'HW_CPU_X86_SSSE3',
  sse4_1: 'HW_CPU_X86_SSE41',
  sse4_2: 'HW_CPU_X86_SSE42',
  vmx: 'HW_CPU_X86_VMX',
  svm: 'HW_CPU_X86_SVM',
};

/** Every standard trait with what it means. */
export const STANDARD_TRAITS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(CPU_FLAG_TRAITS).map(([flag, trait]) => [trait, `CPU flag ${flag}`])),
  HW_CPU_HYPERTHREADING: 'more than one thread per core',
  HW_NUMA_ROOT: 'more than one NUMA node',
  COMPUTE_ACCELERATORS_KVM: 'KVM runs guests (hardware virtualisation)',
  COMPUTE_ACCELERATORS_TCG: 'QEMU TCG runs guests (software emulation)',
  COMPUTE_NESTED_VIRTUALIZATION: 'guests may run their own hypervisor',
  COMPUTE_CPU_MODE_HOST_PASSTHROUGH: 'the host CPU can be passed to guests as is',
  COMPUTE_MEM_HUGEPAGES: 'hugepages are reserved',
  COMPUTE_MEM_KSM: 'kernel same-page merging is available',
  COMPUTE_MEM_BALLOON: 'a virtio memory balloon can be given to guests',
  COMPUTE_SECURITY_UEFI: 'UEFI firmware for guests',
  COMPUTE_SECURITY_UEFI_SECURE_BOOT: 'UEFI Secure Boot for guests',
  COMPUTE_SECURITY_TPM_2_0: 'a TPM 2.0 for guests',
  COMPUTE_SECURITY_TPM_HOST: 'a TPM device on the host',
  COMPUTE_SECURITY_AMD_SEV: 'AMD SEV memory encryption for guests',
  COMPUTE_SECURITY_IOMMU: 'an IOMMU isolates devices',
  COMPUTE_SECURITY_APPARMOR: 'AppArmor confines guests',
  COMPUTE_SECURITY_SELINUX: 'SELinux confines guests',
  COMPUTE_STORAGE_RAW: 'raw images',
  COMPUTE_STORAGE_QCOW2: 'qcow2 images',
  COMPUTE_STORAGE_VMDK: 'VMware vmdk images',
  COMPUTE_STORAGE_VHDX: 'Hyper-V vhdx images',
  COMPUTE_STORAGE_LUKS: 'LUKS-encrypted images',
  COMPUTE_STORAGE_IO_THROTTLING: 'per-disk I/O limits',
  COMPUTE_STORAGE_BUS_VIRTIO: 'virtio disks',
  COMPUTE_STORAGE_BUS_SCSI: 'SCSI disks',
  COMPUTE_STORAGE_BUS_SATA: 'SATA disks',
  COMPUTE_STORAGE_BUS_IDE: 'IDE disks',
  COMPUTE_STORAGE_BUS_NVME: 'NVMe disks',
  COMPUTE_NET_VIRTIO: 'virtio network cards',
  COMPUTE_NET_E1000E: 'Intel e1000e network cards',
  COMPUTE_NET_VMXNET3: 'VMware vmxnet3 network cards',
  COMPUTE_NET_VLAN: '802.1Q VLANs',
  COMPUTE_NET_SRIOV: 'SR-IOV virtual functions',
  COMPUTE_NET_BRIDGE: 'a Linux bridge',
  COMPUTE_MACHINE_Q35: 'the q35 machine type',
  COMPUTE_MACHINE_PC: 'the i440fx (pc) machine type',
};

/** Custom traits: `CUSTOM_` then upper-case letters, digits and `_`, at most 255 characters. */
export const CUSTOM_TRAIT_PATTERN = /^CUSTOM_[A-Z0-9_]{1,248}$/;
/** Any trait name a request may use: a standard one or a custom one. */
export const TRAIT_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,254}$/;
