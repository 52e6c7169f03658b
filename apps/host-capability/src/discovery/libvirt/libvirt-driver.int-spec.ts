import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { CAPABILITY_CATEGORIES } from '@ferry/contracts';
import { ensureLibvirtd } from '@ferry/testing';
import type { ProbeOptions } from '../driver';
import { HostUnreachableError } from '../driver';
import { LibvirtDriver } from './libvirt-driver';

// Real discoveries through virsh: the test driver (in virsh's own process), the system libvirtd
// (started by ensureLibvirtd if need be), and a URI nothing answers on.
const options: ProbeOptions = {
  qemuBinary: 'qemu-system-x86_64',
  qemuImg: 'qemu-img',
  virsh: 'virsh',
  timeoutMs: 20_000,
  diskPath: tmpdir(),
};

/** Every fact has a source, and a value or else a reason — never both, never neither. */
function expectWellFormed(data: HostCapabilityData): void {
  expect(Object.keys(data).sort()).toEqual([...CAPABILITY_CATEGORIES].sort());
  for (const category of CAPABILITY_CATEGORIES) {
    for (const [field, fact] of Object.entries(data[category]) as [string, Fact<unknown>][]) {
      const where = `${category}.${field}`;
      expect({ where, source: typeof fact.source === 'string' && fact.source.length > 0 }).toEqual({
        where,
        source: true,
      });
      const hasReason = typeof fact.reason === 'string' && fact.reason.length > 0;
      expect({ where, known: fact.value !== null, hasReason }).toEqual({
        where,
        known: !hasReason,
        hasReason,
      });
      // Every field is reached by some probe or explicitly not reported by libvirt.
      expect({ where, reason: fact.reason }).not.toEqual({ where, reason: 'not probed' });
    }
  }
}

describe('LibvirtDriver (real virsh)', () => {
  const driver = new LibvirtDriver(options);

  describe('test:///default', () => {
    let data: HostCapabilityData;
    let ms: number;
    beforeAll(async () => {
      const started = Date.now();
      data = await driver.discover('test:///default');
      ms = Date.now() - started;
    });

    it('reports the test driver’s host', () => {
      expectWellFormed(data);
      console.log(`test:///default discovered in ${ms} ms`);
      expect(data.host.arch.value).toBe('i686');
      expect(data.host.numa_nodes.value).toBe(2);
      expect(data.host.logical_cpus.value).toBe(16);
      expect(data.host.sockets.value).toBe(2);
      expect(data.host.cpu_model).toMatchObject({ value: null });
      expect(data.security.security_models.value).toEqual(['testSecurity']);
      expect(data.security.iommu.value).toBe(false);
      expect(data.security.iommu_groups.value).toBe(0);
      expect(data.virtualization.hypervisor.value).toBe('TEST');
      expect(data.virtualization.hypervisor_version.value).toBe('0.0.2');
      expect(data.virtualization.domain_types.value).toEqual(['test']);
      expect(data.virtualization.kvm.value).toBe(false);
      expect(data.virtualization.guest_arches.value).toEqual(['i686']);
      expect(data.cpu.features.value).toEqual(['nonpae', 'pae']);
      expect(data.memory.hugepage_sizes_kb.value).toEqual([8, 2048, 1048576]);
      expect(data.storage.disk_total_gb.value).toBe(100);
      expect(data.network.interfaces.value).toEqual(['eth1']);
      expect(data.network.bridges.value).toEqual(['virbr0']);
    });

    it('leaves what the test driver does not support unknown, with virsh’s reason', () => {
      // No nodememstats in the test driver, and no silent fallback to nodeinfo or the NUMA cells.
      expect(data.memory.total_mb.value).toBeNull();
      expect(data.memory.total_mb.reason).toMatch(/virNodeGetMemoryStats/);
      expect(data.security.sev.value).toBeNull();
      expect(data.security.sev.reason).toMatch(/virConnectGetDomainCapabilities/);
      expect(data.storage.pool_types.reason).toMatch(/virConnectGetStoragePoolCapabilities/);
      expect(data.network.sriov.value).toBeNull();
    });

    it('gives equal data on a second discovery', async () => {
      expect(await driver.discover('test:///default')).toEqual(data);
    });
  });

  describe('qemu:///system', () => {
    let data: HostCapabilityData;
    let caps: string;
    beforeAll(async () => {
      await ensureLibvirtd();
      const started = Date.now();
      data = await driver.discover('qemu:///system');
      console.log(`qemu:///system discovered in ${Date.now() - started} ms`);
      caps = await new Promise<string>((resolve, reject) =>
        execFile('virsh', ['-r', '-c', 'qemu:///system', 'capabilities'], (err, out) =>
          err ? reject(err) : resolve(out),
        ),
      );
    }, 90_000);

    it('reports what libvirt offers here', () => {
      expectWellFormed(data);
      expect(data.virtualization.hypervisor.value).toBe('QEMU');
      expect(data.virtualization.hypervisor_version.value).toMatch(/^\d+\.\d+\.\d+$/);
      expect(data.host.arch.value).toBe('x86_64');
      expect(data.memory.total_mb.value).toBeGreaterThan(0);
      expect(data.memory.total_mb.source).toMatch(/nodememstats/);
      expect(data.virtualization.machine_types.value).toEqual(expect.arrayContaining(['pc', 'q35']));
      // Exactly the domain types libvirt offers, and host-passthrough exactly as domcapabilities says.
      const kvmOffered = /<domain type='kvm'/.test(caps);
      expect(data.virtualization.domain_types.value).toEqual(kvmOffered ? ['kvm', 'qemu'] : ['qemu']);
      expect(data.virtualization.kvm.value).toBe(kvmOffered);
      expect(data.cpu.host_passthrough.value).toBe(kvmOffered);
      expect(data.cpu.host_passthrough.source).toContain(`--virttype ${kvmOffered ? 'kvm' : 'qemu'}`);
      expect(data.security.sev.value).not.toBeNull();
      expect(data.storage.disk_buses.value).toEqual(expect.arrayContaining(['sata', 'virtio']));
      expect(data.storage.pool_types.value).toEqual(expect.arrayContaining(['dir', 'fs']));
      expect(data.storage.image_formats.value).toEqual(expect.arrayContaining(['qcow2', 'raw', 'vmdk']));
    });

    it('gives equal data on a second discovery', async () => {
      expect(await driver.discover('qemu:///system')).toEqual(data);
    });
  });

  it('throws HostUnreachableError with libvirt’s reason when nothing answers', async () => {
    const started = Date.now();
    const err = await driver.discover('qemu+tcp://127.0.0.1:1/system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toMatch(/failed to connect to the hypervisor/);
    expect((err as Error).message).toMatch(/Connection refused/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
