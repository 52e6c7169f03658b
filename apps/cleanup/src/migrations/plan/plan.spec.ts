import type { GuestFacts, GuestFileDto, InspectionConcern, VsphereVmFacts } from '@ferry/contracts';
import { isWindows, preFetchBlockers } from './blockers';
import { planNics } from './nics';
import { derivedTemplateName, machineTrait, planTemplate, requiredTraits } from './template';
import { virtV2vDecision } from './virt-v2v';

function facts(over: Partial<VsphereVmFacts> = {}): VsphereVmFacts {
  return {
    moref: 'vm-42',
    name: 'web01',
    inventoryPath: null,
    instanceUuid: null,
    guestId: 'debian12_64Guest',
    guestFullName: 'Debian GNU/Linux 12 (64-bit)',
    firmware: 'bios',
    secureBoot: false,
    powerState: 'poweredOn',
    toolsStatus: null,
    toolsRunningStatus: null,
    numCpu: 2,
    memoryMB: 4096,
    hardwareVersion: 'vmx-19',
    changeTrackingEnabled: false,
    snapshotCount: 0,
    vTpm: false,
    encrypted: false,
    passthroughDevices: [],
    disks: [
      {
        key: 2000,
        label: 'Hard disk 1',
        controller: 'pvscsi',
        controllerKey: 1000,
        busNumber: 0,
        unitNumber: 0,
        capacityBytes: 1 << 30,
        fileName: '[ds] web01/web01.vmdk',
        datastore: 'ds',
        thinProvisioned: true,
        diskMode: 'persistent',
        independent: false,
        rdm: null,
        sharing: null,
        busSharing: null,
        encrypted: false,
      },
    ],
    nics: [
      {
        key: 4000,
        label: 'Network adapter 1',
        type: 'vmxnet3',
        macAddress: '00:50:56:AA:BB:CC',
        network: 'VM Network',
        connected: true,
        startConnected: true,
      },
    ],
    ...over,
  };
}

const guest = (over: Partial<GuestFacts> = {}): GuestFacts => ({
  root: '/dev/sda2',
  rootDiskId: 'd1',
  osType: 'linux',
  distro: 'debian',
  majorVersion: 12,
  minorVersion: 5,
  productName: 'Debian GNU/Linux 12',
  arch: 'x86_64',
  hostname: 'web01',
  packageFormat: 'deb',
  packageManagement: 'apt',
  firmware: 'bios',
  mountpoints: [],
  filesystems: [],
  fstab: [],
  vmwareTools: null,
  ...over,
});

const file = (path: string, content: string | null): GuestFileDto => ({
  path,
  content,
  sha256: content === null ? null : 'x'.repeat(64),
});

describe('the plan', () => {
  it("blocks before FETCH on vSphere's own blockers, a Windows guest id, EFI firmware and no disk", () => {
    const rdm: InspectionConcern = {
      code: 'RDM_DISK',
      severity: 'blocker',
      message: 'physical RDM',
      subject: 'Hard disk 2',
    };
    const warn: InspectionConcern = { code: 'VTPM', severity: 'warning', message: 'vTPM' };
    const codes = (f: VsphereVmFacts, concerns: InspectionConcern[] = []) =>
      preFetchBlockers({ facts: { facts: f, concerns } }).map((c) => c.code);
    expect(codes(facts())).toEqual([]);
    expect(codes(facts(), [rdm, warn])).toEqual(['RDM_DISK']);
    expect(codes(facts({ guestId: 'windows2019srv_64Guest', guestFullName: null }))).toEqual([
      'WINDOWS_GUEST',
    ]);
    expect(codes(facts({ firmware: 'efi' }))).toEqual(['UEFI_FIRMWARE']);
    expect(codes(facts({ disks: [] }))).toEqual(['NO_DISKS']);
    expect(preFetchBlockers({ facts: null })).toEqual([]);
    expect(
      isWindows({ guestId: 'otherGuest64', guestFullName: 'Microsoft Windows Server 2022 (64-bit)' }),
    ).toBe(true);
  });

  it("derives the template from the source's vCPUs, memory and firmware, with the traits they need", () => {
    expect(planTemplate(facts(), null, 'web01-m1234')).toEqual({
      name: 'web01-m1234',
      derived: true,
      cpu_count: 2,
      ram_amount: 4096,
      machine_type: 'q35',
      firmware: 'bios',
      required_traits: [],
    });
    expect(requiredTraits(facts({ firmware: 'efi', secureBoot: true, vTpm: true }))).toEqual([
      'COMPUTE_SECURITY_UEFI',
      'COMPUTE_SECURITY_UEFI_SECURE_BOOT',
      'COMPUTE_SECURITY_TPM_2_0',
    ]);
    const given = {
      name: 'big',
      cpu_count: 8,
      ram_amount: 8192,
      machine_type: 'pc',
      required_traits: ['X'],
      created_at: '',
    };
    expect(planTemplate(facts(), given, 'ignored')).toMatchObject({
      name: 'big',
      derived: false,
      cpu_count: 8,
    });
    expect(derivedTemplateName('web01', '1234abcd-0000')).toBe('web01-m1234abcd');
    expect([machineTrait('q35'), machineTrait('pc-i440fx-7.2'), machineTrait('virt')]).toEqual([
      'COMPUTE_MACHINE_Q35',
      'COMPUTE_MACHINE_PC',
      null,
    ]);
  });

  it("keeps each NIC's MAC, lower-cased, and gives one without a usable MAC a stable QEMU one", () => {
    const nics = planNics(
      facts({
        nics: [
          {
            key: 1,
            label: 'a',
            type: 'vmxnet3',
            macAddress: '00:50:56:AA:BB:CC',
            network: null,
            connected: null,
            startConnected: null,
          },
          {
            key: 2,
            label: 'b',
            type: 'e1000',
            macAddress: null,
            network: null,
            connected: null,
            startConnected: null,
          },
          {
            key: 3,
            label: 'c',
            type: 'e1000',
            macAddress: '01:00:5e:00:00:01',
            network: null,
            connected: null,
            startConnected: null,
          },
        ],
      }),
      'mig-1',
    );
    expect(nics[0]).toEqual({
      label: 'a',
      source_type: 'vmxnet3',
      source_mac: '00:50:56:AA:BB:CC',
      mac: '00:50:56:aa:bb:cc',
      model: 'virtio',
    });
    expect(nics[1]!.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(nics[2]!.mac).toMatch(/^52:54:00/);
    expect(nics[1]!.mac).not.toBe(nics[2]!.mac);
    expect(
      planNics(facts({ nics: facts().nics.map((n) => ({ ...n, macAddress: null })) }), 'mig-1')[0]!.mac,
    ).toBe(planNics(facts({ nics: facts().nics.map((n) => ({ ...n, macAddress: null })) }), 'mig-1')[0]!.mac);
  });

  it('runs virt-v2v for a GRUB Linux guest of a family it knows, and says why not otherwise', () => {
    const grub = [file('/boot/grub/grub.cfg', 'menuentry ...')];
    expect(virtV2vDecision(guest(), grub, null).applies).toBe(true);
    expect(virtV2vDecision(guest(), grub, ['by-path']).reason).toMatch(/not asked for/);
    expect(virtV2vDecision(guest(), [file('/boot/grub/grub.cfg', null)], null).reason).toMatch(/GRUB/);
    expect(virtV2vDecision(guest({ osType: 'windows' }), grub, null).reason).toMatch(/Linux/);
    expect(virtV2vDecision(guest({ distro: 'gentoo' }), grub, null).reason).toMatch(/gentoo/);
    expect(virtV2vDecision(guest({ packageFormat: null }), grub, null).reason).toMatch(/package/);
    expect(virtV2vDecision(null, grub, null).applies).toBe(false);
  });
});
