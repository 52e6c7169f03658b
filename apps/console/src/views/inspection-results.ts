// The facts' shapes are the contracts' own (OpenAPI gives results as a free object). Type-only, from
// two files of plain interfaces, so nothing of libs/contracts is bundled; the console has no path alias.
// eslint-disable-next-line @nx/enforce-module-boundaries -- type-only import of plain interfaces
import type { GuestFacts, LocalDiskFacts } from '../../../../libs/contracts/src/inspector/guest-facts';
// eslint-disable-next-line @nx/enforce-module-boundaries -- type-only import of plain interfaces
import type { VsphereVmFacts } from '../../../../libs/contracts/src/inspector/vsphere-facts';

/** One VM's inspection results, as `GET /vms/{id}/inspector` gives them. */
export interface Results {
  source?: string;
  inspectedAt?: string;
  durationMs?: number;
  vsphere?: VsphereVmFacts;
  disks?: LocalDiskFacts[];
  guest?: GuestFacts | null;
}

export interface FactTable {
  title: string;
  columns: string[];
  rows: string[][];
}

/** What a person reads first about an inspected VM (label → value), then its lists as tables. */
export interface ResultsView {
  summary: [string, string][];
  tables: FactTable[];
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

function text(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

function size(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number') return '—';
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.round(bytes / MIB)} MiB`;
}

/** The guest's OS: libguestfs's product name when it is a name (some guests give only "12.5"), else distro and version. */
function version(g: GuestFacts): string {
  const number = [g.majorVersion, g.minorVersion].filter((v) => v !== null && v !== undefined).join('.');
  const named = [g.distro ?? g.osType, number].filter(Boolean).join(' ');
  return text(g.productName && /[a-z]/i.test(g.productName) ? g.productName : named);
}

/** The results laid out: vSphere's facts, the image files', and the guest's; tables only when not empty. */
export function resultsView(results: Results | null | undefined): ResultsView {
  const summary: [string, string][] = [];
  const tables: FactTable[] = [];
  if (!results) return { summary, tables };
  summary.push(['Source', text(results.source)]);
  if (results.inspectedAt) summary.push(['Inspected', new Date(results.inspectedAt).toLocaleString()]);
  if (typeof results.durationMs === 'number')
    summary.push(['Took', `${(results.durationMs / 1000).toFixed(1)} s`]);

  const v = results.vsphere;
  if (v) {
    summary.push(
      ['vSphere name', text(v.name)],
      ['Guest OS (vSphere)', text(v.guestFullName ?? v.guestId)],
      ['Firmware (vSphere)', v.firmware ? `${v.firmware}${v.secureBoot ? ', Secure Boot' : ''}` : '—'],
      ['Power', text(v.powerState)],
      ['VMware Tools', text(v.toolsStatus)],
      ['vCPUs', text(v.numCpu)],
      ['Memory', v.memoryMB === null ? '—' : `${v.memoryMB} MiB`],
      ['Hardware version', text(v.hardwareVersion)],
      ['Changed block tracking', text(v.changeTrackingEnabled)],
      ['Snapshots before ours', text(v.snapshotCount)],
      ['vTPM', text(v.vTpm)],
      ['Encrypted', text(v.encrypted)],
    );
    if (v.passthroughDevices.length) summary.push(['Passthrough devices', v.passthroughDevices.join(', ')]);
    if (v.disks.length)
      tables.push({
        title: 'vSphere disks',
        columns: ['Disk', 'Controller', 'Capacity', 'File', 'Mode', 'RDM', 'Sharing'],
        rows: v.disks.map((d) => [
          d.label,
          d.controller,
          size(d.capacityBytes),
          text(d.fileName),
          text(d.diskMode),
          text(d.rdm),
          text(d.sharing),
        ]),
      });
    if (v.nics.length)
      tables.push({
        title: 'vSphere NICs',
        columns: ['NIC', 'Type', 'MAC', 'Network', 'Connected'],
        rows: v.nics.map((n) => [n.label, n.type, text(n.macAddress), text(n.network), text(n.connected)]),
      });
  }

  if (results.disks?.length)
    tables.push({
      title: 'Disk images',
      columns: ['Device', 'Format', 'Virtual size', 'Allocated', 'Backing files', 'Partitions'],
      rows: results.disks.map((d) => [
        d.deviceId,
        d.format,
        size(d.virtualSizeBytes),
        size(d.actualSizeBytes),
        String(Math.max(0, d.backingChain.length - 1)),
        d.partitionTable
          ? `${d.partitionTable.type}: ${d.partitionTable.partitions.map((p) => `${p.number} ${p.kind}`).join(', ') || 'none'}`
          : '—',
      ]),
    });

  const g = results.guest;
  if (results.guest === null) summary.push(['Guest', 'no operating system found']);
  if (g) {
    summary.push(
      ['Guest OS', version(g)],
      ['Architecture', text(g.arch)],
      ['Hostname', text(g.hostname)],
      ['Firmware (guest)', g.firmware],
      ['Root', g.root],
      ['Packages', text(g.packageFormat && `${g.packageFormat} (${g.packageManagement ?? '?'})`)],
      ['VMware tools in the guest', text(g.vmwareTools ?? 'none')],
    );
    if (g.filesystems.length)
      tables.push({
        title: 'Filesystems',
        columns: ['Device', 'Type', 'UUID', 'Label'],
        rows: g.filesystems.map((f) => [f.device, text(f.type), text(f.uuid), text(f.label)]),
      });
    if (g.fstab.length)
      tables.push({
        title: '/etc/fstab',
        columns: ['Device', 'Mount point', 'Type', 'Options'],
        rows: g.fstab.map((f) => [f.spec, f.path, text(f.type), text(f.options)]),
      });
  }
  return { summary, tables };
}
