/**
 * Pure parsers of what QEMU tells about itself: `-machine help`, `-cpu help`, `-device help`,
 * `-accel help`, `--version`, `qemu-img --help`, QMP return values and firmware descriptors. Each throws
 * when the text does not hold what it parses, so that `probe()` turns it into an unknown fact.
 */

/** Lines of the section that starts with the line `header`, up to the next blank line. */
function section(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) throw new Error(`no "${header}" section`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

export interface MachineHelp {
  /** Every machine type (aliases like `q35` and `pc` included) but `none`, sorted. */
  machines: string[];
  /** Alias → the versioned machine it stands for, e.g. `q35` → `pc-q35-7.2`. */
  aliases: Record<string, string>;
  /** The machine marked `(default)`, if any. */
  defaultMachine?: string;
}

/**
 * `qemu-system-x86_64 -machine help`. Lines are `name  description [(alias of X)] [(default)]
 * [(deprecated)]`. `none` (an empty machine without CPUs or devices) cannot hold a guest and is left out.
 */
export function parseMachineHelp(text: string): MachineHelp {
  const machines: string[] = [];
  const aliases: Record<string, string> = {};
  let defaultMachine: string | undefined;
  for (const line of section(text, 'Supported machines are:')) {
    const name = line.trim().split(/\s+/)[0];
    if (!name || name === 'none') continue;
    machines.push(name);
    const alias = /\(alias of ([^)\s]+)\)/.exec(line);
    if (alias) aliases[name] = alias[1];
    if (line.includes('(default)')) defaultMachine = name;
  }
  if (machines.length === 0) throw new Error('no machine types listed');
  return { machines: sortedUnique(machines), aliases, defaultMachine };
}

/**
 * `-cpu help`: the names of the "Available CPUs:" section (`x86 Broadwell-v1  Intel Core ...`), aliases
 * and `host`/`max`/`base` included, sorted. The arch prefix (`x86 `) is dropped.
 */
export function parseCpuHelp(text: string): string[] {
  const models: string[] = [];
  for (const line of section(text, 'Available CPUs:')) {
    const tokens = line.trim().split(/\s+/);
    const name = tokens[0] === 'x86' ? tokens[1] : tokens[0];
    if (name) models.push(name);
  }
  if (models.length === 0) throw new Error('no CPU models listed');
  return sortedUnique(models);
}

export interface DeviceEntry {
  name: string;
  bus?: string;
  alias?: string;
  desc?: string;
}

/** `-device help`: section title (without the colon, e.g. `Network devices`) → its devices. */
export type DeviceHelp = Record<string, DeviceEntry[]>;

/** Lines are `name "virtio-net-pci", bus PCI, alias "virtio-net", desc "..."` under `Xxx devices:` titles. */
export function parseDeviceHelp(text: string): DeviceHelp {
  const sections: DeviceHelp = {};
  let current: DeviceEntry[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const name = /^name "([^"]+)"/.exec(line);
    if (name) {
      if (!current) throw new Error(`device "${name[1]}" outside any section`);
      current.push({
        name: name[1],
        bus: /, bus ([^,]+)/.exec(line)?.[1],
        alias: /, alias "([^"]+)"/.exec(line)?.[1],
        desc: /, desc "(.*)"$/.exec(line)?.[1],
      });
    } else if (line.endsWith(':')) {
      current = sections[line.slice(0, -1)] = [];
    }
  }
  if (Object.keys(sections).length === 0) throw new Error('no device sections');
  return sections;
}

function deviceSection(help: DeviceHelp, title: string): DeviceEntry[] {
  const devices = help[title];
  if (!devices) throw new Error(`no "${title}:" section in -device help`);
  return devices;
}

/** Whether `name` is a device (by name or alias) in any section. */
export function hasDevice(help: DeviceHelp, name: string): boolean {
  return Object.values(help).some((devices) => devices.some((d) => d.name === name || d.alias === name));
}

/** The names of the "Network devices:" section, sorted. */
export function nicModels(help: DeviceHelp): string[] {
  return sortedUnique(deviceSection(help, 'Network devices').map((d) => d.name));
}

/**
 * The guest disk buses the "Storage devices:" section supports: virtio (`virtio-blk-pci`), scsi
 * (`scsi-hd`), ide (`ide-hd`), usb (`usb-storage`), sata (an AHCI controller, `ich9-ahci` or alias
 * `ahci`, plus `ide-hd`, the disk a SATA port takes) and nvme (`nvme`). Sorted.
 */
export function diskBuses(help: DeviceHelp): string[] {
  const devices = deviceSection(help, 'Storage devices');
  const has = (name: string) => devices.some((d) => d.name === name || d.alias === name);
  const buses: string[] = [];
  if (has('virtio-blk-pci')) buses.push('virtio');
  if (has('scsi-hd')) buses.push('scsi');
  if (has('ide-hd')) buses.push('ide');
  if (has('usb-storage')) buses.push('usb');
  if (has('ahci') && has('ide-hd')) buses.push('sata');
  if (has('nvme')) buses.push('nvme');
  return buses.sort();
}

/** `-accel help`: the accelerators this binary has, e.g. `['kvm', 'tcg']`. */
export function parseAccelHelp(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => /^Accelerators supported/.test(l));
  if (start < 0) throw new Error('no "Accelerators supported" line');
  return sortedUnique(lines.slice(start + 1).filter((l) => /^[a-z0-9_-]+$/.test(l)));
}

/** `qemu-system-x86_64 --version` → `7.2.22`. */
export function parseQemuVersion(text: string): string {
  const match = /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/.exec(text);
  if (!match) throw new Error(`no version in "${text.split('\n')[0]}"`);
  return match[1];
}

/** `qemu-img --help` → the block drivers of its "Supported formats:" line, sorted. */
export function parseImageFormats(text: string): string[] {
  const match = /^Supported formats:(.*)$/m.exec(text);
  const formats = match?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
  if (formats.length === 0) throw new Error('no "Supported formats:" line');
  return sortedUnique(formats);
}

/** A string list returned by QMP (`query-tpm-models`, `query-tpm-types`), sorted. */
export function qmpStringList(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new Error('not a list of strings');
  }
  return sortedUnique(value as string[]);
}

interface QmpMachine {
  name: string;
  alias?: string;
  'is-default'?: boolean;
  'cpu-max'?: number;
}

/** `query-machines` → `cpu-max` of the machine `q35` stands for, else of the default machine. */
export function machineCpuMax(value: unknown): { machine: string; cpuMax: number } {
  if (!Array.isArray(value)) throw new Error('query-machines did not return a list');
  const machines = value as QmpMachine[];
  const machine = machines.find((m) => m.alias === 'q35') ?? machines.find((m) => m['is-default']);
  if (!machine) throw new Error('neither q35 nor a default machine');
  const cpuMax = machine['cpu-max'];
  if (typeof cpuMax !== 'number') throw new Error(`${machine.name} has no cpu-max`);
  return { machine: machine.name, cpuMax };
}

/** What one QEMU firmware descriptor (docs/interop/firmware.json) says, as far as discovery needs. */
export interface FirmwareDescriptor {
  interfaceTypes: string[];
  features: string[];
  architectures: string[];
  /** The firmware image QEMU would load (flash executable, or memory/kernel file). */
  executable?: string;
}

export function parseFirmwareDescriptor(text: string): FirmwareDescriptor {
  const doc = JSON.parse(text) as {
    'interface-types'?: unknown;
    features?: unknown;
    targets?: { architecture?: unknown }[];
    mapping?: { device?: unknown; filename?: unknown; executable?: { filename?: unknown } };
  };
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s) => typeof s === 'string') : []);
  const mapping = doc.mapping ?? {};
  const executable = mapping.device === 'flash' ? mapping.executable?.filename : mapping.filename;
  return {
    interfaceTypes: strings(doc['interface-types']),
    features: strings(doc.features),
    architectures: strings((doc.targets ?? []).map((t) => t?.architecture)),
    executable: typeof executable === 'string' ? executable : undefined,
  };
}
