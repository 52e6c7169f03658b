import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { CPU_FLAG_TRAITS } from '@ferry/contracts';

const FORMAT_TRAITS: Readonly<Record<string, string>> = {
  raw: 'COMPUTE_STORAGE_RAW',
  qcow2: 'COMPUTE_STORAGE_QCOW2',
  vmdk: 'COMPUTE_STORAGE_VMDK',
  vhdx: 'COMPUTE_STORAGE_VHDX',
  luks: 'COMPUTE_STORAGE_LUKS',
};

const BUS_TRAITS: Readonly<Record<string, string>> = {
  virtio: 'COMPUTE_STORAGE_BUS_VIRTIO',
  scsi: 'COMPUTE_STORAGE_BUS_SCSI',
  sata: 'COMPUTE_STORAGE_BUS_SATA',
  ide: 'COMPUTE_STORAGE_BUS_IDE',
  nvme: 'COMPUTE_STORAGE_BUS_NVME',
};

const NIC_TRAITS: Readonly<Record<string, string>> = {
  e1000e: 'COMPUTE_NET_E1000E',
  vmxnet3: 'COMPUTE_NET_VMXNET3',
};

/** `sse4.2` (libvirt) and `sse4_2` (Linux) are the same flag. */
function normalizeFlag(flag: string): string {
  return flag.toLowerCase().replace(/[.-]/g, '_');
}

const yes = (fact: Fact<boolean>): boolean => fact.value === true;
const list = (fact: Fact<string[]>): readonly string[] => fact.value ?? [];
const above = (fact: Fact<number>, n: number): boolean => fact.value !== null && fact.value > n;

/**
 * The standard traits these capabilities give a host, sorted. Only known facts count: a field that
 * is unknown (null) gives no trait, since placement must not promise what was not discovered.
 */
export function traitsOf(data: HostCapabilityData): string[] {
  const traits = new Set<string>();
  const add = (when: boolean, trait: string): void => {
    if (when) traits.add(trait);
  };
  const { host, cpu, memory, security, storage, network, virtualization: virt } = data;

  for (const flag of list(cpu.features)) {
    const trait = CPU_FLAG_TRAITS[normalizeFlag(flag)];
    if (trait) traits.add(trait);
  }
  add(yes(cpu.vmx), 'HW_CPU_X86_VMX');
  add(yes(cpu.svm), 'HW_CPU_X86_SVM');
  add(above(host.threads_per_core, 1), 'HW_CPU_HYPERTHREADING');
  add(above(host.numa_nodes, 1), 'HW_NUMA_ROOT');

  add(yes(virt.kvm), 'COMPUTE_ACCELERATORS_KVM');
  add(list(virt.domain_types).includes('qemu'), 'COMPUTE_ACCELERATORS_TCG');
  add(yes(virt.nested), 'COMPUTE_NESTED_VIRTUALIZATION');
  add(yes(cpu.host_passthrough), 'COMPUTE_CPU_MODE_HOST_PASSTHROUGH');
  const machines = list(virt.machine_types);
  add(
    machines.some((m) => m === 'q35' || m.startsWith('pc-q35-')),
    'COMPUTE_MACHINE_Q35',
  );
  add(
    machines.some((m) => m === 'pc' || m.startsWith('pc-i440fx-')),
    'COMPUTE_MACHINE_PC',
  );

  add(
    Object.values(memory.hugepages_total.value ?? {}).some((n) => n > 0),
    'COMPUTE_MEM_HUGEPAGES',
  );
  add(yes(memory.ksm_available), 'COMPUTE_MEM_KSM');
  add(yes(memory.balloon), 'COMPUTE_MEM_BALLOON');

  add(yes(security.uefi), 'COMPUTE_SECURITY_UEFI');
  add(yes(security.secure_boot), 'COMPUTE_SECURITY_UEFI_SECURE_BOOT');
  add(yes(security.tpm_2_0), 'COMPUTE_SECURITY_TPM_2_0');
  add(list(security.tpm_devices).length > 0, 'COMPUTE_SECURITY_TPM_HOST');
  add(yes(security.sev), 'COMPUTE_SECURITY_AMD_SEV');
  add(yes(security.iommu), 'COMPUTE_SECURITY_IOMMU');
  add(list(security.security_models).includes('apparmor'), 'COMPUTE_SECURITY_APPARMOR');
  add(list(security.security_models).includes('selinux'), 'COMPUTE_SECURITY_SELINUX');

  for (const format of list(storage.image_formats)) {
    const trait = FORMAT_TRAITS[format];
    if (trait) traits.add(trait);
  }
  add(yes(storage.encryption), 'COMPUTE_STORAGE_LUKS');
  add(yes(storage.io_throttling), 'COMPUTE_STORAGE_IO_THROTTLING');
  for (const bus of list(storage.disk_buses)) {
    const trait = BUS_TRAITS[bus];
    if (trait) traits.add(trait);
  }

  add(yes(network.virtio_net), 'COMPUTE_NET_VIRTIO');
  for (const model of list(network.nic_models)) {
    const trait = NIC_TRAITS[model];
    if (trait) traits.add(trait);
  }
  add(yes(network.vlan), 'COMPUTE_NET_VLAN');
  add(
    Object.values(network.sriov.value ?? {}).some((n) => n > 0),
    'COMPUTE_NET_SRIOV',
  );
  add(list(network.bridges).length > 0, 'COMPUTE_NET_BRIDGE');

  return [...traits].sort();
}
