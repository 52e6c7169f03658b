import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VsphereVmFacts } from '@ferry/contracts';
import type { XmlNode } from './soap-xml';
import { parseXml, soapBody } from './soap-xml';
import { sortConcerns, vsphereConcerns } from './vsphere-concerns';
import { buildVmFacts, flattenSnapshots } from './vsphere-facts.mapper';

/** The propSet of a captured RetrievePropertiesEx response, by property path. */
function fixture(name: string): Map<string, XmlNode> {
  const xml = readFileSync(join(__dirname, 'fixtures', name), 'utf8');
  const object = soapBody(parseXml(xml))!.at('returnval', 'objects')!;
  return new Map(object.all('propSet').map((p) => [p.str('name')!, p.child('val')!]));
}

describe('buildVmFacts from a vCenter response (every hazard)', () => {
  const props = fixture('vm-hazards.vcenter.xml');
  const networks = new Map([
    ['network-12', 'VM Network'],
    ['dvportgroup-30', 'prod-dvpg'],
  ]);
  const facts = buildVmFacts(props, {
    moref: 'vm-1017',
    inventoryPath: '/dc/vm/db01',
    networks,
    ownSnapshot: 'snapshot-3',
  });

  it('reads the VM', () => {
    expect(facts).toMatchObject({
      moref: 'vm-1017',
      name: 'db & cache <prod>',
      inventoryPath: '/dc/vm/db01',
      instanceUuid: '5032c8a5-9e07-4bb5-a1cb-4d0f0e3f0001',
      guestId: 'rhel9_64Guest',
      guestFullName: 'Red Hat Enterprise Linux 9 (64-bit)',
      firmware: 'efi',
      secureBoot: true,
      powerState: 'poweredOff',
      toolsStatus: 'toolsOk',
      toolsRunningStatus: 'guestToolsNotRunning',
      numCpu: 8,
      memoryMB: 32768,
      hardwareVersion: 'vmx-19',
      changeTrackingEnabled: true,
      vTpm: true,
      encrypted: true,
      passthroughDevices: ['PCI device 0'],
    });
  });

  it('counts every snapshot in the tree but the inspector’s own', () => {
    expect(facts.snapshotCount).toBe(3);
    expect(flattenSnapshots(props.get('snapshot')).map((s) => [s.snapshot, s.depth])).toEqual([
      ['snapshot-1', 0],
      ['snapshot-2', 1],
      ['snapshot-4', 2],
      ['snapshot-3', 1],
    ]);
  });

  it('reads disks with their controller, backing and sharing', () => {
    const byLabel = Object.fromEntries(facts.disks.map((d) => [d.label, d]));
    expect(byLabel['Hard disk 1']).toEqual({
      key: 2000,
      label: 'Hard disk 1',
      controller: 'lsilogic-sas',
      controllerKey: 1000,
      busNumber: 0,
      unitNumber: 0,
      capacityBytes: 42949672960,
      fileName: '[ds-prod-01] db01/db01.vmdk',
      datastore: 'ds-prod-01',
      thinProvisioned: false,
      diskMode: 'persistent',
      independent: false,
      rdm: null,
      sharing: 'sharingNone',
      busSharing: 'noSharing',
      encrypted: false,
    });
    expect(byLabel['Hard disk 2']).toMatchObject({
      rdm: 'physical',
      independent: true,
      thinProvisioned: null,
    });
    // No capacityInBytes: from capacityInKB.
    expect(byLabel['Hard disk 3']).toMatchObject({
      diskMode: 'independent_nonpersistent',
      independent: true,
      capacityBytes: 1073741824,
    });
    expect(byLabel['Hard disk 4']).toMatchObject({ sharing: 'sharingMultiWriter', datastore: 'ds-shared' });
    expect(byLabel['Hard disk 5']).toMatchObject({ encrypted: true });
    expect(byLabel['Hard disk 6']).toMatchObject({
      controller: 'pvscsi',
      busNumber: 1,
      busSharing: 'physicalSharing',
    });
    expect(byLabel['Hard disk 7']).toMatchObject({ controller: 'ide', busSharing: null });
  });

  it('reads NICs with type, MAC and network name from either backing', () => {
    expect(facts.nics).toEqual([
      {
        key: 4000,
        label: 'Network adapter 1',
        type: 'vmxnet3',
        macAddress: '00:50:56:aa:bb:01',
        network: 'VM Network',
        connected: false,
        startConnected: true,
      },
      {
        key: 4001,
        label: 'Network adapter 2',
        type: 'e1000e',
        macAddress: '00:50:56:aa:bb:02',
        network: 'prod-dvpg',
        connected: false,
        startConnected: true,
      },
      {
        key: 4002,
        label: 'Network adapter 3',
        type: 'sriov',
        macAddress: '00:50:56:aa:bb:03',
        network: 'VM Network',
        connected: null,
        startConnected: null,
      },
    ]);
  });

  it('falls back to backing names when network names are unknown', () => {
    const bare = buildVmFacts(props, {
      moref: 'vm-1017',
      inventoryPath: null,
      networks: new Map(),
      ownSnapshot: null,
    });
    expect(bare.nics.map((n) => n.network)).toEqual(['VM Network', 'dvportgroup-30', 'VM Network']);
    expect(bare.snapshotCount).toBe(4);
  });

  it('raises every concern, worst first', () => {
    const concerns = vsphereConcerns(facts);
    expect(concerns.map((c) => `${c.severity} ${c.code} ${c.subject ?? ''}`.trim())).toEqual([
      'blocker RDM_DISK Hard disk 2',
      'blocker SHARED_DISK Hard disk 4',
      'blocker ENCRYPTED Hard disk 5',
      'blocker SHARED_DISK Hard disk 6',
      'blocker ENCRYPTED',
      'blocker PCI_PASSTHROUGH PCI device 0',
      'blocker PCI_PASSTHROUGH Network adapter 3',
      'warning INDEPENDENT_DISK Hard disk 2',
      'warning INDEPENDENT_DISK Hard disk 3',
      'warning EXISTING_SNAPSHOTS',
      'warning VTPM',
      'info IDE_DISK Hard disk 7',
      'info SECURE_BOOT',
      'info CBT_ENABLED',
      'info VMWARE_TOOLS',
      'info VMWARE_PARAVIRTUAL_DEVICES',
    ]);
    expect(concerns.find((c) => c.code === 'EXISTING_SNAPSHOTS')!.message).toContain('3 snapshot');
    expect(concerns.find((c) => c.code === 'VMWARE_PARAVIRTUAL_DEVICES')!.message).toMatch(
      /^pvscsi, vmxnet3:/,
    );
  });
});

describe('buildVmFacts from a vcsim response (xsi under another prefix)', () => {
  const props = fixture('vm-quirks.vcsim.xml');
  const facts = buildVmFacts(props, {
    moref: 'vm-60',
    inventoryPath: null,
    networks: new Map([['dvportgroup-13', 'DC0_DVPG0']]),
    ownSnapshot: 'snapshot-71',
  });

  it('reads what the simulator reports', () => {
    expect(facts).toMatchObject({
      name: 'DC0_H0_VM1',
      firmware: 'efi',
      secureBoot: true,
      vTpm: true,
      encrypted: true,
      snapshotCount: 1,
    });
    expect(facts.disks.map((d) => [d.label, d.controller, d.capacityBytes, d.diskMode, d.sharing])).toEqual([
      ['disk-202-0', 'pvscsi', 1048576, 'persistent', null],
      ['Hard disk 2', 'pvscsi', 2097152, 'independent_persistent', null],
      ['Hard disk 3', 'pvscsi', 2097152, 'persistent', 'sharingMultiWriter'],
    ]);
    expect(facts.nics).toEqual([
      expect.objectContaining({
        type: 'e1000',
        macAddress: expect.stringMatching(/^00:0c:29:/),
        network: 'DC0_DVPG0',
      }),
    ]);
  });
});

describe('vsphereConcerns', () => {
  const plain: VsphereVmFacts = {
    moref: 'vm-1',
    name: 'plain',
    inventoryPath: null,
    instanceUuid: null,
    guestId: null,
    guestFullName: null,
    firmware: 'bios',
    secureBoot: false,
    powerState: 'poweredOn',
    toolsStatus: 'toolsNotInstalled',
    toolsRunningStatus: 'guestToolsNotRunning',
    numCpu: 1,
    memoryMB: 512,
    hardwareVersion: 'vmx-13',
    changeTrackingEnabled: false,
    snapshotCount: 0,
    vTpm: false,
    encrypted: false,
    passthroughDevices: [],
    disks: [],
    nics: [],
  };

  it('has only the tools note for a plain VM, and nothing when tools run', () => {
    expect(vsphereConcerns(plain).map((c) => c.code)).toEqual(['TOOLS_NOT_RUNNING']);
    expect(vsphereConcerns({ ...plain, toolsRunningStatus: 'guestToolsRunning' })).toEqual([]);
  });

  it('makes a virtual-mode RDM a warning', () => {
    const disk = { ...plainDisk(), rdm: 'virtual' as const };
    expect(vsphereConcerns({ ...plain, toolsRunningStatus: null, disks: [disk] })).toEqual([
      expect.objectContaining({ code: 'RDM_DISK', severity: 'warning', subject: 'Hard disk 1' }),
    ]);
  });

  it('sorts stably, worst first', () => {
    const c = (code: string, severity: 'blocker' | 'warning' | 'info') => ({ code, severity, message: '' });
    expect(
      sortConcerns([
        c('a', 'info'),
        c('b', 'blocker'),
        c('c', 'info'),
        c('d', 'warning'),
        c('e', 'blocker'),
      ]).map((x) => x.code),
    ).toEqual(['b', 'e', 'd', 'a', 'c']);
  });

  function plainDisk() {
    return {
      key: 2000,
      label: 'Hard disk 1',
      controller: 'lsilogic',
      controllerKey: 1000,
      busNumber: 0,
      unitNumber: 0,
      capacityBytes: 1024,
      fileName: null,
      datastore: null,
      thinProvisioned: null,
      diskMode: 'persistent',
      independent: false,
      rdm: null,
      sharing: null,
      busSharing: 'noSharing',
      encrypted: false,
    };
  }
});
