import { ApiProperty } from '@nestjs/swagger';

/*
 * Seed 003's HostCapabilityData exactly as a Virtumancer client decodes it: its keys (`host_info` …
 * `virt_info`), its field names and plain values (Virtumancer's `internal/services/
 * host_capability_service.go`). Ferry's facts are mapped onto it by host-capability; a fact Ferry
 * could not discover, or does not discover at all, is `null` (`GET …/capabilities?view=facts` says why).
 */

const n = (description: string, type: typeof String | typeof Number | typeof Boolean = Number) =>
  ApiProperty({ type, nullable: true, description });
const list = (description: string) => ApiProperty({ type: [String], nullable: true, description });

export class SeedHostInfo {
  @n('e.g. x86_64.', String) architecture!: string | null;
  @n('CPU model.', String) model!: string | null;
  @n('CPU vendor.', String) vendor!: string | null;
  @n('Kernel release of the host (Ferry’s `host.kernel`).', String) version!: string | null;
  @n('NUMA nodes.') nodes!: number | null;
  @n('CPU sockets.') sockets!: number | null;
  @n('Cores per socket.') cores!: number | null;
  @n('Threads per core.') threads!: number | null;
  @n('Memory in KiB (as libvirt’s NodeGetInfo).') memory!: number | null;
  @n('Logical CPUs.') cpus!: number | null;
  @n('CPU frequency in MHz; Ferry does not record it (always null).') mhz!: number | null;
}

export class SeedCpuTopologyInfo {
  @n('Sockets.') sockets!: number | null;
  @n('Cores per socket.') cores!: number | null;
  @n('Threads per core.') threads!: number | null;
}

export class SeedCpuCapabilityInfo {
  @list('CPU models a guest can get.') models!: string[] | null;
  @list('CPU feature flags.') features!: string[] | null;
  @ApiProperty({ type: SeedCpuTopologyInfo, nullable: true, description: 'null when none is known.' })
  topology!: SeedCpuTopologyInfo | null;
}

export class SeedMemoryCapabilityInfo {
  @n('Total memory in bytes.') total!: number | null;
  @n('Free memory in bytes; Ferry keeps capacities, not usage (always null).') available!: number | null;
  @n('Hugepages are offered.', Boolean) hugepages!: boolean | null;
  @n('KSM is available.', Boolean) ksm!: boolean | null;
  @n('A memory balloon can be given to guests.', Boolean) balloon!: boolean | null;
}

export class SeedSecurityCapabilityInfo {
  @n('`selinux`, `apparmor` or `none`.', String) model!: string | null;
  @n('SELinux is a host security driver.', Boolean) selinux!: boolean | null;
  @n('AppArmor is a host security driver.', Boolean) apparmor!: boolean | null;
  @n('Secure Boot firmware is offered.', Boolean) secure_boot!: boolean | null;
  @n('A guest can get a TPM 2.0.', Boolean) tpm!: boolean | null;
  @n('AMD SEV is usable.', Boolean) sev!: boolean | null;
  @n('An IOMMU is active.', Boolean) iommu!: boolean | null;
}

export class SeedStorageCapabilityInfo {
  @list('Storage pools by name; Ferry discovers pool types, not pools (always null).') pools!:
    string[] | null;
  @list('Image formats.') formats!: string[] | null;
  @n('Per-disk I/O throttling.', Boolean) qos!: boolean | null;
  @n('Encrypted images.', Boolean) encryption!: boolean | null;
}

export class SeedNetworkCapabilityInfo {
  @list('Bridges a guest NIC can join.') networks!: string[] | null;
  @n('An interface has SR-IOV virtual functions.', Boolean) sriov!: boolean | null;
  @n('virtio-net is offered.', Boolean) virtio!: boolean | null;
  @n('802.1Q VLANs.', Boolean) vlan!: boolean | null;
  @n('Network QoS; Ferry does not discover it (always null).', Boolean) qos!: boolean | null;
}

export class SeedVirtualizationCapabilityInfo {
  @n('e.g. QEMU.', String) hypervisor!: string | null;
  @n('Hypervisor version, e.g. 7.2.15.', String) version!: string | null;
  @n('Nested virtualisation is enabled.', Boolean) nested_virt!: boolean | null;
  @list('Domain types: `kvm`, `qemu` (TCG).') supported_guests!: string[] | null;
  @n('Largest vCPU count of one guest.') max_vcpus!: number | null;
  @n('Largest guest memory in bytes.') max_memory!: number | null;
}

/** `GET /hosts/{hostId}/capabilities`: seed 003's shape. */
export class SeedHostCapabilityData {
  @ApiProperty({ type: SeedHostInfo }) host_info!: SeedHostInfo;
  @ApiProperty({ type: SeedCpuCapabilityInfo }) cpu_info!: SeedCpuCapabilityInfo;
  @ApiProperty({ type: SeedMemoryCapabilityInfo }) memory_info!: SeedMemoryCapabilityInfo;
  @ApiProperty({ type: SeedSecurityCapabilityInfo }) security_info!: SeedSecurityCapabilityInfo;
  @ApiProperty({ type: SeedStorageCapabilityInfo }) storage_info!: SeedStorageCapabilityInfo;
  @ApiProperty({ type: SeedNetworkCapabilityInfo }) network_info!: SeedNetworkCapabilityInfo;
  @ApiProperty({ type: SeedVirtualizationCapabilityInfo }) virt_info!: SeedVirtualizationCapabilityInfo;
}
