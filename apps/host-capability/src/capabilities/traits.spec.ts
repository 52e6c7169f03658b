import { STANDARD_TRAITS } from '@ferry/contracts';
import { sampleData } from './sample-data';
import { traitsOf } from './traits';

describe('traitsOf', () => {
  it('maps known capabilities to standard traits, sorted', () => {
    const traits = traitsOf(sampleData());
    expect(traits).toEqual([...traits].sort());
    expect(traits).toEqual(
      expect.arrayContaining([
        'HW_CPU_X86_AVX2',
        'HW_CPU_X86_SSE42',
        'HW_CPU_X86_SVM',
        'HW_CPU_HYPERTHREADING',
        'COMPUTE_ACCELERATORS_KVM',
        'COMPUTE_ACCELERATORS_TCG',
        'COMPUTE_SECURITY_UEFI_SECURE_BOOT',
        'COMPUTE_SECURITY_TPM_2_0',
        'COMPUTE_STORAGE_QCOW2',
        'COMPUTE_STORAGE_LUKS',
        'COMPUTE_NET_VIRTIO',
        'COMPUTE_NET_E1000E',
        'COMPUTE_MACHINE_Q35',
        'COMPUTE_MACHINE_PC',
      ]),
    );
    expect(traits).not.toContain('HW_CPU_X86_VMX');
    expect(traits).not.toContain('HW_NUMA_ROOT');
  });

  it('gives only standard trait names', () => {
    for (const trait of traitsOf(sampleData())) expect(STANDARD_TRAITS[trait]).toBeDefined();
  });

  it('reads libvirt flag spellings (sse4.2) like Linux ones (sse4_2)', () => {
    const data = sampleData();
    data.cpu.features = { value: ['sse4.2', 'sha-ni'], source: 'virsh capabilities' };
    expect(traitsOf(data)).toEqual(expect.arrayContaining(['HW_CPU_X86_SSE42', 'HW_CPU_X86_SHA']));
  });

  it('promises nothing that is unknown', () => {
    const data = sampleData();
    data.security.secure_boot = { value: null, source: 'test', reason: 'no firmware descriptors' };
    data.security.tpm_2_0 = { value: null, source: 'test', reason: 'unknown' };
    data.virtualization.kvm = { value: false, source: 'test' };
    const traits = traitsOf(data);
    expect(traits).not.toContain('COMPUTE_SECURITY_UEFI_SECURE_BOOT');
    expect(traits).not.toContain('COMPUTE_SECURITY_TPM_2_0');
    expect(traits).not.toContain('COMPUTE_ACCELERATORS_KVM');
  });
});
