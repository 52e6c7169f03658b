import type { Fact, HostCapabilityData, SeedHostCapabilityData } from '@ferry/contracts';

const KIB = 1024;
const MIB = 1024 * 1024;

const v = <T>(fact: Fact<T> | undefined): T | null => fact?.value ?? null;
const map = <T, R>(fact: Fact<T> | undefined, f: (value: T) => R): R | null => {
  const value = v(fact);
  return value === null ? null : f(value);
};

/**
 * Ferry's facts in seed 003's HostCapabilityData, the shape Virtumancer's clients decode: the seed's
 * keys and field names, plain values in the seed's units (bytes for memory_info.total and
 * virt_info.max_memory, KiB for host_info.memory, as libvirt's NodeGetInfo gives them). A fact that is
 * unknown stays `null`; so do the seed's fields Ferry has no fact for (mhz, available memory, pool
 * names, network QoS). The mapping is documented field by field in the service README.
 */
export function toSeedCapabilities(d: HostCapabilityData): SeedHostCapabilityData {
  const models = v(d.security.security_models);
  const sockets = v(d.host.sockets);
  const cores = v(d.host.cores_per_socket);
  const threads = v(d.host.threads_per_core);
  return {
    host_info: {
      architecture: v(d.host.arch),
      model: v(d.host.cpu_model),
      vendor: v(d.host.cpu_vendor),
      version: v(d.host.kernel),
      nodes: v(d.host.numa_nodes),
      sockets,
      cores,
      threads,
      memory: map(d.memory.total_mb, (mb) => mb * KIB),
      cpus: v(d.host.logical_cpus),
      mhz: null,
    },
    cpu_info: {
      models: v(d.cpu.models),
      features: v(d.cpu.features),
      topology: sockets === null && cores === null && threads === null ? null : { sockets, cores, threads },
    },
    memory_info: {
      total: map(d.memory.total_mb, (mb) => mb * MIB),
      available: null,
      hugepages: map(d.memory.hugepage_sizes_kb, (sizes) => sizes.length > 0),
      ksm: v(d.memory.ksm_available),
      balloon: v(d.memory.balloon),
    },
    security_info: {
      model:
        models === null
          ? null
          : models.includes('selinux')
            ? 'selinux'
            : models.includes('apparmor')
              ? 'apparmor'
              : 'none',
      selinux: models === null ? null : models.includes('selinux'),
      apparmor: models === null ? null : models.includes('apparmor'),
      secure_boot: v(d.security.secure_boot),
      tpm: v(d.security.tpm_2_0),
      sev: v(d.security.sev),
      iommu: v(d.security.iommu),
    },
    storage_info: {
      pools: null,
      formats: v(d.storage.image_formats),
      qos: v(d.storage.io_throttling),
      encryption: v(d.storage.encryption),
    },
    network_info: {
      networks: v(d.network.bridges),
      sriov: map(d.network.sriov, (vfs) => Object.values(vfs).some((n) => n > 0)),
      virtio: v(d.network.virtio_net),
      vlan: v(d.network.vlan),
      qos: null,
    },
    virt_info: {
      hypervisor: v(d.virtualization.hypervisor),
      version: v(d.virtualization.hypervisor_version),
      nested_virt: v(d.virtualization.nested),
      supported_guests: v(d.virtualization.domain_types),
      max_vcpus: v(d.virtualization.max_vcpus),
      max_memory: map(d.virtualization.max_memory_mb, (mb) => mb * MIB),
    },
  };
}
