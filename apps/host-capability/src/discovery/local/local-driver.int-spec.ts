import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { CAPABILITY_CATEGORIES } from '@ferry/contracts';
import { probeKvm } from '@ferry/qemu';
import type { ProbeOptions } from '../driver';
import { LocalDriver } from './local-driver';

/** Real discovery of this machine (QEMU and qemu-img installed, as tools/ensure-infra.sh does). */
describe('LocalDriver (this machine)', () => {
  // A folder of the test's own: what else ran on this machine (say /var/lib/ferry) changes nothing.
  const scratch = mkdtempSync(join(tmpdir(), 'ferry-local-driver-'));
  const options: ProbeOptions = {
    qemuBinary: 'qemu-system-x86_64',
    qemuImg: 'qemu-img',
    virsh: 'virsh',
    timeoutMs: 20_000,
    diskPath: join(scratch, 'no-such-dir', 'disks'),
  };
  const driver = new LocalDriver(options);
  let data: HostCapabilityData;

  beforeAll(async () => {
    data = await driver.discover('local');
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const facts = (d: HostCapabilityData): [string, Fact<unknown>][] =>
    CAPABILITY_CATEGORIES.flatMap((c) =>
      Object.entries(d[c] as unknown as Record<string, Fact<unknown>>).map(
        ([k, f]) => [`${c}.${k}`, f] as [string, Fact<unknown>],
      ),
    );

  it('gives every field as a fact: a source, and a value or else a reason', () => {
    const all = facts(data);
    expect(all.length).toBe(54);
    for (const [name, fact] of all) {
      expect({ name, source: typeof fact.source, empty: fact.source === '' }).toEqual({
        name,
        source: 'string',
        empty: false,
      });
      expect({
        name,
        hasValue: fact.value !== null,
        hasReason: typeof fact.reason === 'string' && fact.reason !== '',
      }).toEqual({ name, hasValue: fact.value !== null, hasReason: fact.value === null });
    }
  });

  it('gives equal data on a second discovery (only stable facts)', async () => {
    expect(await driver.discover('local')).toEqual(data);
  });

  it('reads the CPU and memory as the kernel tells them', () => {
    const memTotalKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    expect(data.memory.total_mb).toEqual({ value: Math.floor(memTotalKb / 1024), source: '/proc/meminfo' });
    expect(data.host.logical_cpus).toEqual({ value: cpus().length, source: '/proc/cpuinfo' });
    expect(data.host.arch.value).toBe('x86_64');
    expect(data.cpu.features.value).toEqual(expect.arrayContaining(['fpu', 'sse2']));
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    expect(data.host.cpu_vendor.value).toBe(/^vendor_id\s*: (.*)$/m.exec(cpuinfo)?.[1]);
    expect(data.cpu.vmx.value).toBe(/^flags\s*:.* vmx( |$)/m.test(cpuinfo));
    expect(data.cpu.svm.value).toBe(/^flags\s*:.* svm( |$)/m.test(cpuinfo));
    expect(data.memory.transparent_hugepage.value).toMatch(/^(always|madvise|never)$/);
    expect(data.memory.ksm_available.value).toBe(existsSync('/sys/kernel/mm/ksm'));
  });

  it("reads what this machine's QEMU offers", () => {
    const version = /version (\S+)/.exec(execFileSync('qemu-system-x86_64', ['--version']).toString())?.[1];
    expect(data.virtualization.hypervisor).toEqual({ value: 'QEMU', source: 'qemu-system-x86_64 --version' });
    expect(data.virtualization.hypervisor_version.value).toBe(version);
    expect(data.virtualization.machine_types.value).toEqual(expect.arrayContaining(['q35', 'pc']));
    expect(data.virtualization.guest_arches.value).toEqual(['x86_64']);
    expect(data.virtualization.max_vcpus.value).toBeGreaterThanOrEqual(255);
    expect(data.cpu.models.value).toEqual(expect.arrayContaining(['qemu64', 'max']));
    expect(data.storage.image_formats.value).toEqual(expect.arrayContaining(['qcow2', 'raw', 'vmdk']));
    expect(data.storage.encryption.value).toBe(true);
    expect(data.storage.disk_buses.value).toEqual(expect.arrayContaining(['scsi', 'virtio']));
    expect(data.network.virtio_net).toEqual({ value: true, source: 'qemu-system-x86_64 -device help' });
    expect(data.network.nic_models.value).toEqual(expect.arrayContaining(['e1000', 'virtio-net-pci']));
    expect(data.memory.balloon.value).toBe(true);
    expect(data.security.tpm_models.value).toEqual(expect.arrayContaining(['tpm-tis']));
    expect(data.network.interfaces.value).not.toContain('lo');
  });

  it('says KVM is usable exactly when a paused KVM guest starts', async () => {
    const usable = existsSync('/dev/kvm') && (await probeKvm('qemu-system-x86_64', 20_000)) === undefined;
    expect(data.virtualization.kvm.value).toBe(usable);
    expect(data.cpu.host_passthrough.value).toBe(usable);
    expect(data.virtualization.domain_types.value).toEqual(usable ? ['kvm', 'qemu'] : ['qemu']);
    if (!usable) expect(data.security.sev.value).toBe(false);
  });

  it('measures the nearest existing parent of a disk path that does not exist yet', () => {
    expect(data.storage.disk_total_gb.source).toBe(`statfs ${scratch}`);
    expect(data.storage.disk_total_gb.value).toBeGreaterThan(0);
  });

  it('loses only the QEMU facts when QEMU is missing', async () => {
    const broken = new LocalDriver({ ...options, qemuBinary: '/nonexistent/qemu-system-x86_64' });
    const d = await broken.discover('local');
    expect(d.virtualization.hypervisor_version).toEqual({
      value: null,
      source: '/nonexistent/qemu-system-x86_64 --version',
      reason: '/nonexistent/qemu-system-x86_64 --version: spawn /nonexistent/qemu-system-x86_64 ENOENT',
    });
    expect(d.virtualization.machine_types.value).toBeNull();
    expect(d.network.virtio_net.value).toBeNull();
    expect(d.security.tpm_models.value).toBeNull();
    expect(d.security.sev.value).toBeNull();
    expect(d.virtualization.kvm.value).toBe(existsSync('/dev/kvm') ? null : false);
    // Not QEMU's: still known.
    expect(d.memory.total_mb).toEqual(data.memory.total_mb);
    expect(d.host).toEqual(data.host);
    expect(d.storage.image_formats).toEqual(data.storage.image_formats);
  });
});
