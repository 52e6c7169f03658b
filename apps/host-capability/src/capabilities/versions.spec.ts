import { inventoryOf } from './inventory';
import { sampleData } from './sample-data';
import { canonicalJson, diffVersions, fingerprint, traitDelta } from './versions';

const policy = {
  cpuAllocationRatio: 4,
  ramAllocationRatio: 1,
  diskAllocationRatio: 1,
  reservedMemoryMb: 512,
};

describe('capability versions', () => {
  it('fingerprints by content, whatever the key order', () => {
    const a = sampleData();
    const b = JSON.parse(canonicalJson(a)) as typeof a;
    const { virtualization, ...rest } = b;
    const reordered = { virtualization, ...rest };
    expect(fingerprint(reordered, inventoryOf(b, policy))).toBe(fingerprint(a, inventoryOf(a, policy)));
    const c = sampleData();
    c.memory.total_mb = { value: 32768, source: '/proc/meminfo' };
    expect(fingerprint(c, inventoryOf(c, policy))).not.toBe(fingerprint(a, inventoryOf(a, policy)));
  });

  it('lists exactly the fields that changed, with the inventory they move', () => {
    const before = sampleData();
    const after = sampleData();
    after.memory.total_mb = { value: 32768, source: 'test' };
    after.security.sev = { value: false, source: 'test' };
    const changes = diffVersions(
      { data: before, inventory: inventoryOf(before, policy) },
      { data: after, inventory: inventoryOf(after, policy) },
    );
    expect(changes.map((c) => c.path)).toEqual(['inventory.MEMORY_MB', 'memory.total_mb', 'security.sev']);
    expect(changes[1]).toEqual({
      path: 'memory.total_mb',
      from: { value: 65536, source: 'test' },
      to: { value: 32768, source: 'test' },
    });
    expect(diffVersions(null, { data: after, inventory: {} })).toEqual([]);
  });

  it('tells traits added and removed', () => {
    expect(traitDelta(['A', 'B'], ['B', 'C'])).toEqual({ added: ['C'], removed: ['A'] });
  });

  it('derives capacity from total, reservation and ratio; unknown totals are left out', () => {
    const data = sampleData();
    data.storage.disk_total_gb = { value: null, source: 'test', reason: 'no pools' };
    expect(inventoryOf(data, policy)).toEqual({
      VCPU: { total: 16, reserved: 0, allocation_ratio: 4, capacity: 64 },
      MEMORY_MB: { total: 65536, reserved: 512, allocation_ratio: 1, capacity: 65024 },
    });
  });
});
