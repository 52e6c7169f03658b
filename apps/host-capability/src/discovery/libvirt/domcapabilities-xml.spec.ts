import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  domainCapabilityData,
  mergeDomainCapabilities,
  parseDomainCapabilities,
} from './domcapabilities-xml';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const SRC = 'virsh domcapabilities';
const parse = (name: string) => parseDomainCapabilities(fixture(name), SRC);

describe('parseDomainCapabilities', () => {
  it('reads a KVM host with UEFI Secure Boot, TPM 2.0 and SEV', () => {
    const d = parse('domcapabilities-kvm-efi-tpm-sev.xml');
    expect(d.max_vcpus.value).toBe(4096);
    expect(d.uefi.value).toBe(true);
    expect(d.secure_boot.value).toBe(true);
    expect(d.host_passthrough.value).toBe(true);
    expect(d.host_model.value).toBe('EPYC-Milan');
    expect(d.models.value).toEqual(['EPYC', 'EPYC-IBPB', 'EPYC-Milan', 'EPYC-Rome', 'kvm64', 'qemu64']);
    expect(d.disk_buses.value).toEqual(['fdc', 'sata', 'scsi', 'usb', 'virtio']);
    expect(d.tpm_models.value).toEqual(['tpm-crb', 'tpm-tis']);
    expect(d.tpm_backends.value).toEqual(['emulator', 'passthrough']);
    expect(d.tpm_2_0.value).toBe(true);
    expect(d.sev).toEqual({ value: true, source: SRC });
    // libvirt 9.0 has no <memballoon> in domcapabilities: unknown, not false.
    expect(d.balloon.value).toBeNull();
    expect(d.balloon.reason).toMatch(/memballoon/);
  });

  it('reads a TCG-only answer (this machine, --virttype qemu): no host-passthrough, no UEFI images', () => {
    const d = parse('qemu-system-domcapabilities-tcg-q35.xml');
    expect(d.host_passthrough).toEqual({ value: false, source: SRC });
    expect(d.host_model.value).toBe('EPYC');
    expect(d.models.value).toEqual(expect.arrayContaining(['qemu64', 'pentium']));
    // An empty firmware enum, no loader images, secure only 'no': positively no UEFI here.
    expect(d.uefi.value).toBe(false);
    expect(d.secure_boot.value).toBe(false);
    expect(d.sev.value).toBe(false);
    // Only the passthrough backend and no backendVersion: the version is the host TPM's, unknown.
    expect(d.tpm_backends.value).toEqual(['passthrough']);
    expect(d.tpm_2_0.value).toBeNull();
    expect(d.tpm_2_0.reason).toMatch(/backendVersion/);
  });

  it('reads the KVM answer of this machine: libvirt says host-passthrough is supported', () => {
    const d = parse('qemu-system-domcapabilities-kvm-q35.xml');
    expect(d.host_passthrough.value).toBe(true);
    expect(d.host_model.value).toBe('kvm64');
    expect(d.max_vcpus.value).toBe(288);
  });

  describe('SEV is read from <features><sev> only', () => {
    it('is false when <sev supported="no">, though "sev" is in model names, paths, comments and enums', () => {
      const d = parse('domcapabilities-sev-in-other-strings.xml');
      expect(d.sev).toEqual({ value: false, source: SRC });
      // The strings around it are still read as what they are.
      expect(d.models.value).toEqual(['EPYC-sev-like', 'Severn']);
      expect(d.host_model.value).toBe('EPYC-sev-like');
      expect(d.disk_buses.value).toEqual(['sev', 'virtio']);
    });

    it('is unknown (null with a reason), not false, when libvirt does not report <sev>', () => {
      const d = parse('domcapabilities-sev-not-reported.xml');
      expect(d.sev.value).toBeNull();
      expect(d.sev.reason).toMatch(/does not report <features><sev>/);
    });

    it('takes <launchSecurity> sectype when there is no <sev> (newer libvirt)', () => {
      const xml = (values: string) =>
        `<domainCapabilities><features><launchSecurity supported='yes'><enum name='sectype'>${values}</enum>` +
        `</launchSecurity></features></domainCapabilities>`;
      expect(parseDomainCapabilities(xml('<value>sev</value><value>sev-snp</value>'), SRC).sev.value).toBe(
        true,
      );
      expect(parseDomainCapabilities(xml('<value>tdx</value>'), SRC).sev.value).toBe(false);
    });
  });

  describe('UEFI and TPM are read from their elements only', () => {
    it('"efi", "tpm" and secure=yes elsewhere set nothing', () => {
      const d = parse('domcapabilities-efi-tpm-in-other-strings.xml');
      // A firmware enum with only bios and a loader without images: no UEFI.
      expect(d.uefi).toEqual({ value: false, source: SRC });
      expect(d.secure_boot.value).toBe(false);
      // No <devices><tpm>: unknown, though rng lists tpm-crb and backendVersion 2.0.
      expect(d.tpm_models.value).toBeNull();
      expect(d.tpm_backends.value).toBeNull();
      expect(d.tpm_2_0.value).toBeNull();
      expect(d.tpm_2_0.reason).toMatch(/no <devices><tpm>/);
      expect(d.host_model.value).toBe('efi-tpm-model');
    });

    it('<tpm supported="no"> is a known no', () => {
      const d = parseDomainCapabilities(
        `<domainCapabilities><devices><tpm supported='no'/></devices></domainCapabilities>`,
        SRC,
      );
      expect(d.tpm_models.value).toEqual([]);
      expect(d.tpm_backends.value).toEqual([]);
      expect(d.tpm_2_0.value).toBe(false);
    });

    it('a backendVersion without 2.0 is a known no', () => {
      const d = parseDomainCapabilities(
        `<domainCapabilities><devices><tpm supported='yes'><enum name='model'><value>tpm-tis</value></enum>` +
          `<enum name='backendModel'><value>emulator</value></enum>` +
          `<enum name='backendVersion'><value>1.2</value></enum></tpm></devices></domainCapabilities>`,
        SRC,
      );
      expect(d.tpm_2_0.value).toBe(false);
    });

    it('firmware efi counts as UEFI without loader images; newer firmwareFeatures secureBoot counts', () => {
      const d = parseDomainCapabilities(
        `<domainCapabilities><os supported='yes'><enum name='firmware'><value>efi</value></enum>` +
          `<firmwareFeatures supported='yes'><enum name='secureBoot'><value>yes</value><value>no</value></enum>` +
          `</firmwareFeatures></os></domainCapabilities>`,
        SRC,
      );
      expect(d.uefi.value).toBe(true);
      expect(d.secure_boot.value).toBe(true);
    });

    it('no <os>: both unknown', () => {
      const d = parseDomainCapabilities('<domainCapabilities/>', SRC);
      expect(d.uefi.value).toBeNull();
      expect(d.secure_boot.value).toBeNull();
      expect(d.host_passthrough.value).toBeNull();
      expect(d.max_vcpus.reason).toMatch(/vcpu/);
    });
  });
});

describe('mergeDomainCapabilities', () => {
  it('unites lists, ORs booleans, takes the largest vCPU count and the first host model', () => {
    const q35 = parse('domcapabilities-kvm-efi-tpm-sev.xml');
    const pc = parseDomainCapabilities(
      `<domainCapabilities><vcpu max='255'/><os supported='yes'><enum name='firmware'><value>bios</value></enum>
        </os><cpu><mode name='host-passthrough' supported='no'/></cpu>
        <devices><disk supported='yes'><enum name='bus'><value>ide</value><value>virtio</value></enum></disk></devices>
        <features><sev supported='no'/></features></domainCapabilities>`,
      SRC,
    );
    const m = mergeDomainCapabilities([q35, pc], 'merged');
    expect(m.max_vcpus).toEqual({ value: 4096, source: 'merged' });
    expect(m.disk_buses.value).toEqual(['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio']);
    expect(m.uefi.value).toBe(true);
    expect(m.sev.value).toBe(true);
    expect(m.host_passthrough.value).toBe(true);
    expect(m.host_model.value).toBe('EPYC-Milan');
    expect(m.tpm_models.value).toEqual(['tpm-crb', 'tpm-tis']);
    // Known no in one answer, unknown in the other: no.
    expect(
      mergeDomainCapabilities([pc, parseDomainCapabilities('<domainCapabilities/>', SRC)], 'm').sev.value,
    ).toBe(false);
    const data = domainCapabilityData(m);
    expect(data.storage?.disk_buses).toBe(m.disk_buses);
    expect(data.security?.sev).toBe(m.sev);
  });

  it('keeps the reasons when no answer knows', () => {
    const empty = parseDomainCapabilities('<domainCapabilities/>', SRC);
    const m = mergeDomainCapabilities([empty, empty], 'merged');
    expect(m.sev).toEqual({
      value: null,
      source: 'merged',
      reason: 'domcapabilities does not report <features><sev> (libvirt did not say)',
    });
  });
});
