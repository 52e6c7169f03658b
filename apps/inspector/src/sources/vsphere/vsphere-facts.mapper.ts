import type { VsphereDiskFacts, VsphereNicFacts, VsphereVmFacts } from '@ferry/contracts';
import type { XmlNode } from './soap-xml';

/** The VM properties `inspect` reads (RetrievePropertiesEx pathSet). */
export const VM_PROPERTIES = [
  'name',
  'parent',
  'config.hardware.device',
  'config.firmware',
  'config.bootOptions',
  'config.guestId',
  'config.guestFullName',
  'config.version',
  'config.changeTrackingEnabled',
  'config.keyId',
  'config.instanceUuid',
  'runtime.powerState',
  'guest.toolsStatus',
  'guest.toolsRunningStatus',
  'summary.config.numCpu',
  'summary.config.memorySizeMB',
  'snapshot',
  'network',
] as const;

const CONTROLLERS: Record<string, string> = {
  ParaVirtualSCSIController: 'pvscsi',
  VirtualLsiLogicController: 'lsilogic',
  VirtualLsiLogicSASController: 'lsilogic-sas',
  VirtualBusLogicController: 'buslogic',
  VirtualIDEController: 'ide',
  VirtualAHCIController: 'sata',
  VirtualSATAController: 'sata',
  VirtualNVMEController: 'nvme',
};

const NICS: Record<string, string> = {
  VirtualVmxnet3: 'vmxnet3',
  VirtualVmxnet3Vrdma: 'vmxnet3-vrdma',
  VirtualVmxnet2: 'vmxnet2',
  VirtualVmxnet: 'vmxnet',
  VirtualE1000: 'e1000',
  VirtualE1000e: 'e1000e',
  VirtualPCNet32: 'pcnet32',
  VirtualSriovEthernetCard: 'sriov',
};

const has = (map: Record<string, string>, type: string | null) => type !== null && Object.hasOwn(map, type);

/** One snapshot of a VM's snapshot tree (`snapshot.rootSnapshotList`), flattened. */
export interface SnapshotNode {
  /** MoRef value, e.g. `snapshot-12`. */
  snapshot: string;
  name: string;
  description: string;
  depth: number;
}

/** Every snapshot in the tree, parents before their children. */
export function flattenSnapshots(info: XmlNode | undefined): SnapshotNode[] {
  const out: SnapshotNode[] = [];
  const walk = (items: XmlNode[], depth: number) => {
    for (const item of items) {
      out.push({
        snapshot: item.str('snapshot') ?? '',
        name: item.str('name') ?? '',
        description: item.str('description') ?? '',
        depth,
      });
      walk(item.all('childSnapshotList'), depth + 1);
    }
  };
  walk(info?.all('rootSnapshotList') ?? [], 0);
  return out;
}

export interface FactsContext {
  moref: string;
  inventoryPath: string | null;
  /** Network names by network MoRef value and by distributed port group key. */
  networks: ReadonlyMap<string, string>;
  /** The inspector's own snapshot, left out of `snapshotCount`. */
  ownSnapshot: string | null;
}

const label = (d: XmlNode) => d.str('deviceInfo', 'label') ?? `device ${d.int('key') ?? '?'}`;

function diskFacts(disk: XmlNode, controllers: ReadonlyMap<number, XmlNode>): VsphereDiskFacts {
  const backing = disk.child('backing');
  const controllerKey = disk.int('controllerKey') ?? -1;
  const controller = controllers.get(controllerKey);
  const fileName = backing?.str('fileName') || null;
  const diskMode = backing?.str('diskMode') || null;
  const compatibility =
    backing?.xsiType === 'VirtualDiskRawDiskMappingVer1BackingInfo' ? backing.str('compatibilityMode') : null;
  const capacityBytes = disk.int('capacityInBytes') || (disk.int('capacityInKB') ?? 0) * 1024;
  return {
    key: disk.int('key') ?? 0,
    label: label(disk),
    controller: controller ? CONTROLLERS[controller.xsiType!]! : 'unknown',
    controllerKey,
    busNumber: controller?.int('busNumber') ?? null,
    unitNumber: disk.int('unitNumber'),
    capacityBytes,
    fileName,
    datastore: fileName?.match(/^\[([^\]]*)\]/)?.[1] ?? null,
    thinProvisioned: backing?.bool('thinProvisioned') ?? null,
    diskMode,
    independent: diskMode?.startsWith('independent') ?? false,
    rdm: compatibility === null ? null : compatibility === 'physicalMode' ? 'physical' : 'virtual',
    sharing: backing?.str('sharing') || null,
    busSharing: controller?.str('sharedBus') || null,
    encrypted: Boolean(backing?.child('keyId')),
  };
}

function nicFacts(nic: XmlNode, networks: ReadonlyMap<string, string>): VsphereNicFacts {
  const backing = nic.child('backing');
  let network: string | null = null;
  const ref = backing?.str('network');
  const portgroup = backing?.str('port', 'portgroupKey');
  if (ref) network = networks.get(ref) ?? backing?.str('deviceName') ?? null;
  else if (portgroup) network = networks.get(portgroup) ?? portgroup;
  else if (backing?.str('opaqueNetworkId')) network = backing.str('opaqueNetworkId');
  else network = backing?.str('deviceName') || null;
  const type = nic.xsiType ?? '';
  return {
    key: nic.int('key') ?? 0,
    label: label(nic),
    type: has(NICS, type) ? NICS[type]! : type.replace(/^Virtual/, '').toLowerCase(),
    macAddress: nic.str('macAddress') || null,
    network,
    connected: nic.bool('connectable', 'connected'),
    startConnected: nic.bool('connectable', 'startConnected'),
  };
}

const isNic = (d: XmlNode) => has(NICS, d.xsiType) || d.child('macAddress') !== undefined;

/** VsphereVmFacts from the VM_PROPERTIES of one VM. Facts the server did not return are null. */
export function buildVmFacts(props: ReadonlyMap<string, XmlNode>, ctx: FactsContext): VsphereVmFacts {
  const str = (path: string) => props.get(path)?.text || null;
  const devices = props.get('config.hardware.device')?.children ?? [];
  const controllers = new Map(
    devices.filter((d) => has(CONTROLLERS, d.xsiType)).map((d) => [d.int('key') ?? -1, d]),
  );
  const firmware = str('config.firmware');
  const secureBoot = props.get('config.bootOptions')?.bool('efiSecureBootEnabled');
  const snapshots = flattenSnapshots(props.get('snapshot')).filter((s) => s.snapshot !== ctx.ownSnapshot);
  return {
    moref: ctx.moref,
    name: str('name') ?? ctx.moref,
    inventoryPath: ctx.inventoryPath,
    instanceUuid: str('config.instanceUuid'),
    guestId: str('config.guestId'),
    guestFullName: str('config.guestFullName'),
    firmware: firmware === 'bios' || firmware === 'efi' ? firmware : null,
    secureBoot: secureBoot ?? (firmware ? false : null),
    powerState: str('runtime.powerState'),
    toolsStatus: str('guest.toolsStatus'),
    toolsRunningStatus: str('guest.toolsRunningStatus'),
    numCpu: props.get('summary.config.numCpu')?.int() ?? null,
    memoryMB: props.get('summary.config.memorySizeMB')?.int() ?? null,
    hardwareVersion: str('config.version'),
    changeTrackingEnabled: props.get('config.changeTrackingEnabled')?.bool() ?? null,
    snapshotCount: snapshots.length,
    vTpm: devices.some((d) => d.xsiType === 'VirtualTPM'),
    encrypted: Boolean(props.get('config.keyId')?.str('keyId')),
    passthroughDevices: devices.filter((d) => d.xsiType === 'VirtualPCIPassthrough').map(label),
    disks: devices.filter((d) => d.xsiType === 'VirtualDisk').map((d) => diskFacts(d, controllers)),
    nics: devices.filter(isNic).map((d) => nicFacts(d, ctx.networks)),
  };
}
