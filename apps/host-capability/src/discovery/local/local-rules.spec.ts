import { known, unknown } from '@ferry/contracts';
import type { FirmwareFile, KvmObservations } from './local-rules';
import { decideFirmware, decideKvm, decideSev, decideTpm20, stableMessage } from './local-rules';

describe('stableMessage', () => {
  it('drops the binary prefix, the error tag and pids', () => {
    expect(stableMessage('/usr/bin/qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69')).toBe(
      'failed to set MSR 0x10a to 0x69',
    );
    expect(stableMessage('qemu-system-x86_64: terminating on signal 15 from pid 4242 (bash)')).toBe(
      'terminating on signal 15 from pid N (bash)',
    );
    expect(stableMessage('x'.repeat(300))).toHaveLength(160);
  });
});

describe('decideKvm', () => {
  const ran: KvmObservations['qemu'] = { ran: true };

  it('is usable when a paused KVM guest starts', () => {
    expect(decideKvm({ devKvm: true, qemu: ran, qmpKvmPresent: true })).toEqual({
      value: true,
      source: '/dev/kvm + paused KVM guest probe',
    });
  });

  it('is a known no when /dev/kvm is absent', () => {
    expect(decideKvm({ devKvm: false, qemu: ran })).toEqual({ value: false, source: '/dev/kvm (absent)' });
  });

  it('is a known no, with the failure in the source, when the guest aborts', () => {
    const fact = decideKvm({
      devKvm: true,
      qemu: ran,
      qmpKvmPresent: true,
      probeFailure: 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69',
    });
    expect(fact).toEqual({
      value: false,
      source: '/dev/kvm + paused KVM guest probe (failed: failed to set MSR 0x10a to 0x69)',
    });
    expect(fact.reason).toBeUndefined();
  });

  it('is a known no when QEMU has no KVM', () => {
    expect(decideKvm({ devKvm: true, qemu: ran, qmpKvmPresent: false, probeFailure: 'x' })).toEqual({
      value: false,
      source: 'QMP query-kvm (KVM not present in QEMU)',
    });
  });

  it('is unknown when QEMU did not run at all', () => {
    const fact = decideKvm({
      devKvm: true,
      qemu: { ran: false, reason: 'spawn qemu-system-x86_64 ENOENT' },
      probeFailure: 'spawn qemu-system-x86_64 ENOENT',
    });
    expect(fact).toEqual({
      value: null,
      source: '/dev/kvm + paused KVM guest probe',
      reason: 'QEMU did not run: spawn qemu-system-x86_64 ENOENT',
    });
  });
});

describe('decideSev', () => {
  const kvmYes = known(true, 'kvm');
  const kvmNo = known(false, 'kvm');

  it('is usable when QMP reports SEV capabilities and KVM works', () => {
    const caps = { return: { pdh: 'AAAA', 'cert-chain': 'BBBB', cbitpos: 51, 'reduced-phys-bits': 1 } };
    expect(decideSev(caps, kvmYes)).toEqual({ value: true, source: 'QMP query-sev-capabilities' });
    expect(decideSev(caps, kvmNo)).toEqual({
      value: false,
      source: 'QMP query-sev-capabilities + KVM not usable',
    });
  });

  it('is a known no on a GenericError', () => {
    const answer = { error: { class: 'GenericError', desc: 'SEV is not enabled in KVM' } };
    expect(decideSev(answer, kvmYes)).toEqual({
      value: false,
      source: 'QMP query-sev-capabilities: SEV is not enabled in KVM',
    });
  });

  it('is unknown when QEMU lacks the command or the session failed', () => {
    const notFound = { error: { class: 'CommandNotFound', desc: 'The command has not been found' } };
    expect(decideSev(notFound, kvmYes)).toEqual({
      value: null,
      source: 'QMP query-sev-capabilities',
      reason: 'CommandNotFound: The command has not been found',
    });
    expect(decideSev({ missing: 'qemu timed out' }, kvmYes)).toEqual({
      value: null,
      source: 'QMP query-sev-capabilities',
      reason: 'qemu timed out',
    });
  });
});

describe('decideTpm20', () => {
  const models = known(['tpm-crb', 'tpm-tis'], 'QMP query-tpm-models');
  const backends = known(['emulator', 'passthrough'], 'QMP query-tpm-types');

  it('is possible with the emulator backend when swtpm is installed', () => {
    expect(decideTpm20({ models, backends, swtpm: true, hostTpm2: false })).toEqual({
      value: true,
      source: 'QMP query-tpm-models + query-tpm-types (emulator) + swtpm',
    });
  });

  it('is possible by passthrough of a host TPM 2.0', () => {
    expect(decideTpm20({ models, backends, swtpm: false, hostTpm2: true })).toEqual({
      value: true,
      source: 'QMP query-tpm-models + query-tpm-types (passthrough) + /sys/class/tpm (TPM 2.0)',
    });
  });

  it('is a known no without swtpm and a host TPM 2.0, or without a model', () => {
    expect(decideTpm20({ models, backends, swtpm: false, hostTpm2: false }).value).toBe(false);
    const none = known<string[]>([], 'QMP query-tpm-models');
    expect(decideTpm20({ models: none, backends, swtpm: true, hostTpm2: true })).toEqual({
      value: false,
      source: 'QMP query-tpm-models + query-tpm-types (no TPM model)',
    });
    const emulatorOnly = known(['emulator'], 'QMP query-tpm-types');
    expect(decideTpm20({ models, backends: emulatorOnly, swtpm: false, hostTpm2: true }).value).toBe(false);
  });

  it('is unknown when QMP did not tell', () => {
    const failed = unknown<string[]>('QMP query-tpm-models', 'qemu timed out');
    expect(decideTpm20({ models: failed, backends, swtpm: true, hostTpm2: false })).toEqual({
      value: null,
      source: 'QMP query-tpm-models + query-tpm-types',
      reason: 'qemu timed out',
    });
  });
});

describe('decideFirmware', () => {
  const dirs = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];
  const source = 'firmware descriptors in /usr/share/qemu/firmware, /etc/qemu/firmware';
  const file = (
    name: string,
    interfaceTypes: string[],
    features: string[],
    executable: string,
  ): FirmwareFile => ({
    path: `/usr/share/qemu/firmware/${name}`,
    descriptor: { interfaceTypes, features, architectures: ['x86_64'], executable },
  });
  const secure = file(
    '40-edk2-x86_64-secure.json',
    ['uefi'],
    ['requires-smm', 'secure-boot'],
    '/fw/CODE.ms.fd',
  );
  const plain = file('60-edk2-x86_64.json', ['uefi'], ['acpi-s3'], '/fw/CODE.fd');
  const bios = file('50-seabios.json', ['bios'], [], '/fw/bios.bin');
  const present =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);

  it('finds UEFI and Secure Boot firmware whose images exist', () => {
    const all = present('/fw/CODE.ms.fd', '/fw/CODE.fd', '/fw/bios.bin');
    expect(decideFirmware([secure, plain, bios], dirs, 'x86_64', all)).toEqual({
      uefi: { value: true, source },
      secureBoot: { value: true, source },
    });
  });

  it('offers no Secure Boot when only plain UEFI is installed', () => {
    const result = decideFirmware([secure, plain], dirs, 'x86_64', present('/fw/CODE.fd'));
    expect(result.uefi.value).toBe(true);
    expect(result.secureBoot.value).toBe(false);
  });

  it('is a known no with descriptors but none for UEFI on this arch', () => {
    const result = decideFirmware([bios, plain], dirs, 'aarch64', present('/fw/CODE.fd', '/fw/bios.bin'));
    expect(result).toEqual({ uefi: { value: false, source }, secureBoot: { value: false, source } });
  });

  it('is unknown without any descriptor', () => {
    const reason = 'no firmware descriptors in /usr/share/qemu/firmware or /etc/qemu/firmware';
    expect(decideFirmware([], dirs, 'x86_64', present())).toEqual({
      uefi: { value: null, source, reason },
      secureBoot: { value: null, source, reason },
    });
  });
});
