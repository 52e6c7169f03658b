import type { Fact, HostCapabilityData, Inventory, InventoryRecordDto } from '@ferry/contracts';

export interface InventoryPolicy {
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedMemoryMb: number;
}

function record(total: Fact<number>, reserved: number, ratio: number): InventoryRecordDto | undefined {
  if (total.value === null) return undefined;
  const kept = Math.min(reserved, total.value);
  return {
    total: total.value,
    reserved: kept,
    allocation_ratio: ratio,
    capacity: Math.floor((total.value - kept) * ratio),
  };
}

/** VCPU, MEMORY_MB and DISK_GB of a host; a resource whose total is unknown is left out. */
export function inventoryOf(data: HostCapabilityData, policy: InventoryPolicy): Inventory {
  const inventory: Inventory = {};
  const vcpu = record(data.host.logical_cpus, 0, policy.cpuAllocationRatio);
  const memory = record(data.memory.total_mb, policy.reservedMemoryMb, policy.ramAllocationRatio);
  const disk = record(data.storage.disk_total_gb, 0, policy.diskAllocationRatio);
  if (vcpu) inventory.VCPU = vcpu;
  if (memory) inventory.MEMORY_MB = memory;
  if (disk) inventory.DISK_GB = disk;
  return inventory;
}
