import type { Fact, HostCapabilityData } from '@ferry/contracts';

const k = <T>(value: T, source = 'test'): Fact<T> => ({ value, source });
const u = <T>(reason: string): Fact<T> => ({ value: null, source: 'test', reason });

/** A plausible KVM host for unit tests: every field known except where noted. */
export function sampleData(): HostCapabilityData {
  return {
    host: {
      hostname: k('kvm-01'),
      arch: k('x86_64'),
      cpu_model: k('AMD EPYC 7B13'),
      cpu_vendor: k('AuthenticAMD'),
      numa_nodes: k(1),
      sockets: k(1),
      cores_per_socket: k(8),
      threads_per_core: k(2),
      logical_cpus: k(16),
      kernel: k('6.1.0'),
    },
    cpu: {
      features: k(['avx', 'avx2', 'sse4_2', 'svm']),
      models: k(['EPYC', 'qemu64']),
      vmx: k(false),
      svm: k(true),
      host_passthrough: k(true),
      host_model: u('libvirt only'),
    },
    memory: {
      total_mb: k(65536),
      hugepage_sizes_kb: k([2048, 1048576]),
      hugepages_total: k({ '2048': 0, '1048576': 0 }),
      transparent_hugepage: k('madvise'),
      ksm_available: k(true),
      ksm_running: k(false),
      balloon: k(true),
    },
    security: {
      security_models: k(['apparmor']),
      uefi: k(true),
      secure_boot: k(true),
      tpm_devices: k([]),
      tpm_models: k(['tpm-crb', 'tpm-tis']),
      tpm_backends: k(['emulator', 'passthrough']),
      tpm_2_0: k(true),
      sev: u('QMP query-sev-capabilities: not supported'),
      iommu: k(false),
      iommu_groups: k(0),
    },
    storage: {
      image_formats: k(['luks', 'qcow2', 'raw', 'vmdk']),
      pool_types: u('no libvirt on a local host'),
      disk_buses: k(['ide', 'sata', 'scsi', 'virtio']),
      encryption: k(true),
      io_throttling: k(true),
      disk_total_gb: k(500),
    },
    network: {
      interfaces: k(['eth0']),
      bridges: k([]),
      nic_models: k(['e1000e', 'virtio-net-pci']),
      virtio_net: k(true),
      vlan: u('cannot tell whether 8021q loads'),
      sriov: k({}),
    },
    virtualization: {
      hypervisor: k('QEMU'),
      hypervisor_version: k('7.2.15'),
      domain_types: k(['kvm', 'qemu']),
      kvm: k(true),
      nested: k(false),
      machine_types: k(['pc', 'pc-i440fx-7.2', 'pc-q35-7.2', 'q35']),
      guest_arches: k(['x86_64']),
      max_vcpus: k(288),
      max_memory_mb: k(65536),
    },
  };
}
