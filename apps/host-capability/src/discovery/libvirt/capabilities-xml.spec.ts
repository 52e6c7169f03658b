import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuFlags, parseBaselineFeatures, parseCapabilities } from './capabilities-xml';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('parseCapabilities', () => {
  describe('a KVM host: 2 sockets, 2 NUMA cells, vmx, apparmor + dac', () => {
    const parsed = parseCapabilities(fixture('kvm-host-capabilities.xml'));
    const { host, cpu, memory, security, virtualization } = parsed.data;

    it('reads the host CPU and its topology from the cells’ cpu ids', () => {
      expect(host?.arch?.value).toBe('x86_64');
      expect(host?.cpu_model?.value).toBe('Westmere-IBRS');
      expect(host?.cpu_vendor?.value).toBe('Intel');
      expect(host?.numa_nodes?.value).toBe(2);
      // <topology sockets='1'> is per NUMA cell; the socket ids give the real count.
      expect(host?.sockets?.value).toBe(2);
      expect(host?.cores_per_socket?.value).toBe(4);
      expect(host?.threads_per_core?.value).toBe(2);
      expect(host?.logical_cpus?.value).toBe(16);
    });

    it('lists the features libvirt lists, lower case and sorted, marked as relative to the model', () => {
      expect(cpu?.features?.value).toEqual(expect.arrayContaining(['avx2', 'vmx', 'invtsc']));
      expect(cpu?.features?.value).toEqual([...(cpu?.features?.value ?? [])].sort());
      expect(cpu?.features?.source).toMatch(/listed beyond the CPU model/);
      expect(parsed.listedFeatures?.complete).toBe(false);
      expect(cpu?.vmx).toEqual({ value: true, source: 'virsh capabilities' });
      // svm is not listed, but the model's own features are not either: unknown, not false.
      expect(cpu?.svm?.value).toBeNull();
      expect(cpu?.svm?.reason).toMatch(/model/);
    });

    it('reads security models, IOMMU, hugepages and guests', () => {
      expect(security?.security_models?.value).toEqual(['apparmor', 'dac']);
      expect(security?.iommu?.value).toBe(true);
      expect(security?.iommu_groups?.value).toBeNull();
      expect(memory?.hugepage_sizes_kb?.value).toEqual([2048, 1048576]);
      expect(memory?.hugepages_total?.value).toEqual({ '2048': 768, '1048576': 2 });
      expect(virtualization?.guest_arches?.value).toEqual(['i686', 'x86_64']);
      expect(virtualization?.domain_types?.value).toEqual(['kvm', 'qemu']);
      expect(virtualization?.kvm?.value).toBe(true);
      expect(virtualization?.machine_types?.value).toEqual([
        'isapc',
        'pc',
        'pc-i440fx-7.2',
        'pc-q35-6.2',
        'pc-q35-7.2',
        'q35',
      ]);
      expect(parsed.hostArch).toBe('x86_64');
      expect(parsed.hostArchGuest?.domainTypes).toEqual(['kvm', 'qemu']);
      expect(parsed.hostArchGuest?.machines).toContain('q35');
    });
  });

  it('reads test:///default (virsh 9.0 here): i686, 2 cells of 8 CPUs, old-style features', () => {
    const { data, listedFeatures } = parseCapabilities(fixture('test-default-capabilities.xml'));
    expect(data.host?.arch?.value).toBe('i686');
    expect(data.host?.numa_nodes?.value).toBe(2);
    expect(data.host?.logical_cpus?.value).toBe(16);
    expect(data.host?.sockets?.value).toBe(2);
    expect(data.host?.cores_per_socket?.value).toBe(8);
    expect(data.host?.threads_per_core?.value).toBe(1);
    expect(data.host?.cpu_model?.value).toBeNull();
    expect(data.host?.cpu_model?.reason).toMatch(/no <host><cpu><model>/);
    // No model: the list is all libvirt says the CPU has.
    expect(listedFeatures).toEqual({ names: ['nonpae', 'pae'], complete: true });
    expect(data.cpu?.vmx?.value).toBe(false);
    expect(data.security?.security_models?.value).toEqual(['testSecurity']);
    expect(data.security?.iommu?.value).toBe(false);
    expect(data.security?.iommu_groups?.value).toBe(0);
    expect(data.virtualization?.domain_types?.value).toEqual(['test']);
    expect(data.virtualization?.kvm?.value).toBe(false);
    expect(data.virtualization?.machine_types?.value).toBeNull();
    expect(data.virtualization?.machine_types?.reason).toBe(
      'virsh capabilities lists no <machine> for its guests',
    );
    expect(data.memory?.hugepage_sizes_kb?.value).toEqual([8, 2048, 1048576]);
  });

  it('reads qemu:///system of this machine (TCG-capable QEMU 7.2, KVM offered)', () => {
    const { data, hostArchGuest } = parseCapabilities(fixture('qemu-system-capabilities.xml'));
    expect(data.host?.cpu_model?.value).toBe('kvm64');
    expect(data.host?.cpu_vendor?.value).toBe('AMD');
    expect(data.host?.logical_cpus?.value).toBe(2);
    expect(data.security?.security_models?.value).toEqual(['dac', 'none']);
    expect(hostArchGuest?.domainTypes).toEqual(['kvm', 'qemu']);
    expect(hostArchGuest?.machines).toEqual(expect.arrayContaining(['pc', 'q35', 'pc-q35-7.2']));
    expect(data.memory?.hugepages_total?.value).toEqual({ '2048': 0, '1048576': 0 });
  });

  it('falls back to <host><cpu><topology> (sockets per cell) without cpu ids', () => {
    const xml = `<capabilities><host><cpu><arch>x86_64</arch>
      <topology sockets='1' dies='1' cores='8' threads='2'/></cpu>
      <topology><cells num='2'><cell id='0'/><cell id='1'/></cells></topology></host></capabilities>`;
    const { data } = parseCapabilities(xml);
    expect(data.host?.sockets).toEqual({
      value: 2,
      source: 'virsh capabilities (<host><cpu><topology sockets> per NUMA cell × 2)',
    });
    expect(data.host?.cores_per_socket?.value).toBe(8);
    expect(data.host?.threads_per_core?.value).toBe(2);
    expect(data.host?.logical_cpus?.value).toBe(32);
  });

  it('leaves everything unknown, with reasons, for an empty document', () => {
    const { data } = parseCapabilities('<capabilities/>');
    expect(data.host?.arch?.value).toBeNull();
    expect(data.security?.iommu?.reason).toMatch(/no <host><iommu/);
    expect(data.virtualization?.kvm?.value).toBeNull();
    expect(data.virtualization?.kvm?.reason).toMatch(/no <guest>/);
    expect(data.cpu?.vmx?.value).toBeNull();
  });

  it('rejects malformed XML and other documents', () => {
    expect(() => parseCapabilities('<capabilities><host>')).toThrow(/malformed XML/);
    expect(() => parseCapabilities('<domainCapabilities/>')).toThrow(/expected <capabilities>/);
  });
});

describe('parseBaselineFeatures', () => {
  it('gives every feature of the host CPU, the model’s own included', () => {
    const features = parseBaselineFeatures(fixture('kvm-host-cpu-baseline.xml'));
    // sse2 and cx16 come from the Westmere model, vmx and avx2 were listed beyond it.
    expect(features).toEqual(expect.arrayContaining(['sse2', 'cx16', 'vmx', 'avx2']));
    expect(features).toEqual([...features].sort());
    expect(cpuFlags(features, true, 's')).toEqual({
      vmx: { value: true, source: 's' },
      svm: { value: false, source: 's' },
    });
  });

  it('leaves out disabled features', () => {
    const xml = `<cpu mode='custom' match='exact'><model>EPYC</model>
      <feature policy='require' name='svm'/><feature policy='disable' name='vmx'/></cpu>`;
    expect(parseBaselineFeatures(xml)).toEqual(['svm']);
  });
});
