import type { HostCapabilityData } from '@ferry/contracts';
import { sampleData } from './sample-data';
import { toSeedCapabilities } from './seed-view';

describe('seed 003 view of the capabilities (what a Virtumancer client decodes)', () => {
  it('has exactly the seed’s keys and field names, with plain values in the seed’s units', () => {
    expect(toSeedCapabilities(sampleData())).toEqual({
      host_info: {
        architecture: 'x86_64',
        model: 'AMD EPYC 7B13',
        vendor: 'AuthenticAMD',
        version: '6.1.0',
        nodes: 1,
        sockets: 1,
        cores: 8,
        threads: 2,
        memory: 65536 * 1024,
        cpus: 16,
        mhz: null,
      },
      cpu_info: {
        models: ['EPYC', 'qemu64'],
        features: ['avx', 'avx2', 'sse4_2', 'svm'],
        topology: { sockets: 1, cores: 8, threads: 2 },
      },
      memory_info: { total: 65536 * 1024 * 1024, available: null, hugepages: true, ksm: true, balloon: true },
      security_info: {
        model: 'apparmor',
        selinux: false,
        apparmor: true,
        secure_boot: true,
        tpm: true,
        sev: null,
        iommu: false,
      },
      storage_info: { pools: null, formats: ['luks', 'qcow2', 'raw', 'vmdk'], qos: true, encryption: true },
      network_info: { networks: [], sriov: false, virtio: true, vlan: null, qos: null },
      virt_info: {
        hypervisor: 'QEMU',
        version: '7.2.15',
        nested_virt: false,
        supported_guests: ['kvm', 'qemu'],
        max_vcpus: 288,
        max_memory: 65536 * 1024 * 1024,
      },
    });
  });

  it('turns every unknown fact into null, never into a guess', () => {
    const data = sampleData();
    const unknown = { value: null, source: 'test', reason: 'not discovered' };
    for (const category of Object.values(data) as Record<string, unknown>[])
      for (const field of Object.keys(category)) category[field] = unknown;
    const seed = toSeedCapabilities(data as HostCapabilityData);
    for (const [key, category] of Object.entries(seed)) {
      for (const [field, value] of Object.entries(category as Record<string, unknown>))
        expect([`${key}.${field}`, value]).toEqual([`${key}.${field}`, null]);
    }
  });

  it('names the security model as the seed does, and SR-IOV when a VF exists', () => {
    const data = sampleData();
    data.security.security_models = { value: ['dac', 'selinux'], source: 'test' };
    data.network.sriov = { value: { eth0: 0, eth1: 8 }, source: 'test' };
    const seed = toSeedCapabilities(data);
    expect(seed.security_info).toMatchObject({ model: 'selinux', selinux: true, apparmor: false });
    expect(seed.network_info.sriov).toBe(true);
    data.security.security_models = { value: ['dac'], source: 'test' };
    expect(toSeedCapabilities(data).security_info.model).toBe('none');
  });
});
