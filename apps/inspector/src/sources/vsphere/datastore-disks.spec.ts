import { parseXml } from './soap-xml';
import { buildVmFacts } from './vsphere-facts.mapper';
import { exportDisks } from './datastore-disks';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const controller = (type: string, key: number, bus: number, shared = 'noSharing') =>
  `<VirtualDevice xsi:type="${type}"><key>${key}</key><busNumber>${bus}</busNumber><sharedBus>${shared}</sharedBus></VirtualDevice>`;

interface DiskSpec {
  key: number;
  controller: number;
  unit: number;
  file?: string;
  backing?: string;
  extra?: string;
}
const disk = (d: DiskSpec) =>
  `<VirtualDevice xsi:type="VirtualDisk"><key>${d.key}</key><deviceInfo><label>Hard disk ${d.key}</label></deviceInfo>` +
  `<backing xsi:type="${d.backing ?? 'VirtualDiskFlatVer2BackingInfo'}">` +
  (d.file === undefined ? '' : `<fileName>${d.file}</fileName>`) +
  `<diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned>${d.extra ?? ''}</backing>` +
  `<controllerKey>${d.controller}</controllerKey><unitNumber>${d.unit}</unitNumber>` +
  `<capacityInKB>1024</capacityInKB><capacityInBytes>${d.key * 1024}</capacityInBytes></VirtualDevice>`;

function vm(devices: string[], extra: Record<string, string> = {}) {
  const xml = `<val ${XSI}>${devices.join('')}</val>`;
  const props = new Map([
    ['config.hardware.device', parseXml(xml)],
    ['name', parseXml(`<val>web01</val>`)],
    ...Object.entries(extra).map(([k, v]) => [k, parseXml(`<val ${XSI}>${v}</val>`)] as const),
  ]);
  const facts = buildVmFacts(props, {
    moref: 'vm-1',
    inventoryPath: null,
    networks: new Map(),
    ownSnapshot: null,
  });
  return { facts, devices: props.get('config.hardware.device')!.children };
}

const where = { origin: 'https://vc.example.com', dcPath: 'DC0', snapshotted: true };

describe('exportDisks', () => {
  it('numbers the disks from 1 in device order (controller, then unit), whatever order vSphere lists them in', () => {
    const { facts, devices } = vm([
      controller('ParaVirtualSCSIController', 1001, 1),
      disk({ key: 2016, controller: 1001, unit: 0, file: '[ds] web01/web01_3.vmdk' }),
      disk({ key: 2001, controller: 1000, unit: 1, file: '[ds] web01/web01_2.vmdk' }),
      controller('ParaVirtualSCSIController', 1000, 0),
      disk({ key: 2000, controller: 1000, unit: 0, file: '[ds] web01/web01.vmdk' }),
      controller('VirtualIDEController', 200, 0),
      disk({ key: 3000, controller: 200, unit: 0, file: '[ds] web01/web01_ide.vmdk' }),
    ]);
    const disks = exportDisks(facts, devices, where);
    expect(disks.map((d) => [d.index, d.key])).toEqual([
      [1, '3000'],
      [2, '2000'],
      [3, '2001'],
      [4, '2016'],
    ]);
    expect(disks[1]).toEqual({
      key: '2000',
      index: 2,
      label: 'Hard disk 2000',
      capacityBytes: 2000 * 1024,
      fileName: '[ds] web01/web01.vmdk',
      datastore: 'ds',
      url: 'https://vc.example.com/folder/web01/web01.vmdk?dcPath=DC0&dsName=ds',
      backing: 'VirtualDiskFlatVer2BackingInfo',
      thin: true,
      blockers: [],
    });
  });

  it('says why a disk cannot be read from its datastore file', () => {
    const { facts, devices } = vm([
      controller('ParaVirtualSCSIController', 1000, 0),
      controller('VirtualLsiLogicController', 1001, 1, 'physicalSharing'),
      disk({
        key: 2000,
        controller: 1000,
        unit: 0,
        file: '[ds] a/ok.vmdk',
        backing: 'VirtualDiskSparseVer2BackingInfo',
      }),
      disk({
        key: 2001,
        controller: 1000,
        unit: 1,
        file: '[ds] a/lun.vmdk',
        backing: 'VirtualDiskRawDiskMappingVer1BackingInfo',
        extra: '<compatibilityMode>physicalMode</compatibilityMode>',
      }),
      disk({
        key: 2002,
        controller: 1000,
        unit: 2,
        file: '[ds] a/mw.vmdk',
        extra: '<sharing>sharingMultiWriter</sharing>',
      }),
      disk({
        key: 2003,
        controller: 1000,
        unit: 3,
        file: '[ds] a/enc.vmdk',
        extra: '<keyId><keyId>k</keyId></keyId>',
      }),
      disk({
        key: 2004,
        controller: 1000,
        unit: 4,
        file: '[ds] a/delta-000001.vmdk',
        extra: '<parent><fileName>[ds] a/base.vmdk</fileName></parent>',
      }),
      disk({ key: 2005, controller: 1001, unit: 0, file: '[ds] a/bus.vmdk' }),
      disk({ key: 2006, controller: 1000, unit: 5 }),
    ]);
    const blockers = Object.fromEntries(exportDisks(facts, devices, where).map((d) => [d.key, d.blockers]));
    expect(blockers['2000']).toEqual([]);
    expect(blockers['2001']).toEqual([expect.stringContaining('physical-mode raw device mapping')]);
    expect(blockers['2002']).toEqual([expect.stringContaining('multi-writer')]);
    expect(blockers['2003']).toEqual([expect.stringContaining('encrypted')]);
    expect(blockers['2004']).toEqual([expect.stringContaining('its parent is [ds] a/base.vmdk')]);
    expect(blockers['2005']).toEqual([expect.stringContaining('physicalSharing')]);
    expect(blockers['2006']).toEqual([expect.stringContaining('no datastore file')]);
  });

  it('blocks independent disks when a snapshot would leave them live, and nonpersistent ones always', () => {
    const mode = (m: string) => `<diskMode>${m}</diskMode>`;
    const devices = [
      controller('ParaVirtualSCSIController', 1000, 0),
      disk({ key: 2000, controller: 1000, unit: 0, file: '[ds] a/p.vmdk' }).replace(
        mode('persistent'),
        mode('independent_persistent'),
      ),
      disk({ key: 2001, controller: 1000, unit: 1, file: '[ds] a/n.vmdk' }).replace(
        mode('persistent'),
        mode('independent_nonpersistent'),
      ),
    ];
    const { facts, devices: nodes } = vm(devices);
    const blockers = (snapshotted: boolean) =>
      exportDisks(facts, nodes, { ...where, snapshotted }).map((d) => d.blockers.map((b) => b.split(':')[0]));
    expect(blockers(true)).toEqual([['independent disk'], ['independent-nonpersistent']]);
    expect(blockers(false)).toEqual([[], ['independent-nonpersistent']]);
  });

  it('blocks every disk of a VM vSphere encrypted', () => {
    const { facts, devices } = vm(
      [
        controller('ParaVirtualSCSIController', 1000, 0),
        disk({ key: 2000, controller: 1000, unit: 0, file: '[ds] a/a.vmdk' }),
      ],
      { 'config.keyId': '<keyId>vm-key</keyId>' },
    );
    expect(exportDisks(facts, devices, where)[0]!.blockers).toEqual([expect.stringContaining('encrypted')]);
  });
});
