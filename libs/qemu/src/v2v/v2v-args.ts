import { basename } from 'node:path';
import type { V2vDisk } from './v2v-types';

/** The controller the disks were on at the source: virt-v2v renames `/dev/sdX` (scsi, sata) or `/dev/hdX` (ide) to `/dev/vdX`. */
export type V2vSourceBus = 'scsi' | 'sata' | 'ide';

/** How virt-v2v picks the root filesystem when it finds several: `single` refuses (the default here). */
export type V2vRootChoice = 'single' | 'first' | `/dev/${string}`;

export interface V2vArgsOptions {
  /** `-v -x`: the log the facts of the result are read from (default true). */
  verbose?: boolean;
  root?: V2vRootChoice;
  /** With several disks only (libvirt XML); default `scsi`, what vSphere guests have. */
  sourceBus?: V2vSourceBus;
  /** The guest's name in the libvirt XML; default the first disk's file name without extension. */
  name?: string;
}

export interface V2vInvocation {
  args: string[];
  /** The libvirt XML to write to `domainXmlPath` first (several disks), else undefined. */
  domainXml?: string;
}

/** `sda`, …, `sdz`, `sdaa`: the target names libvirt's XML gives the disks. */
export function driveName(prefix: string, index: number): string {
  let name = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) name = String.fromCharCode(97 + (i % 26)) + name;
  return prefix + name;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  "'": '&apos;',
  '"': '&quot;',
};
function xmlEscape(s: string): string {
  return s.replace(/[&<>'"]/g, (c) => XML_ESCAPES[c]!);
}

/**
 * A minimal libvirt domain for `-i libvirtxml`, which is how virt-v2v takes a guest of several disks
 * (`-i disk` takes one). The controller is the source's, so that the fstab and bootloader names
 * virt-v2v renames are the ones the guest used (`sdb1` → `vdb1`). Memory and vCPUs do not matter in
 * place (virt-v2v writes no target metadata then).
 */
export function libvirtDomainXml(disks: V2vDisk[], name: string, bus: V2vSourceBus = 'scsi'): string {
  const prefix = bus === 'ide' ? 'hd' : 'sd';
  const diskXml = disks.map(
    (d, i) =>
      `    <disk type='file' device='disk'>\n` +
      `      <driver name='qemu' type='${d.format}'/>\n` +
      `      <source file='${xmlEscape(d.path)}'/>\n` +
      `      <target dev='${driveName(prefix, i)}' bus='${bus}'/>\n` +
      `    </disk>\n`,
  );
  return (
    `<domain type='kvm'>\n` +
    `  <name>${xmlEscape(name)}</name>\n` +
    `  <memory unit='KiB'>1048576</memory>\n` +
    `  <vcpu>1</vcpu>\n` +
    `  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n` +
    `  <features>\n    <acpi/>\n    <apic/>\n  </features>\n` +
    `  <devices>\n${diskXml.join('')}  </devices>\n` +
    `</domain>\n`
  );
}

function guestName(disks: V2vDisk[], name?: string): string {
  if (name) return name;
  return basename(disks[0]!.path).replace(/\.[^.]*$/, '') || 'guest';
}

/**
 * The arguments of virt-v2v-in-place for these disks: `-i disk -if <format>
 * <file>` for one disk, `-i libvirtxml <domainXmlPath>` (with the XML to write there) for several.
 * A file name is passed as it is: virt-v2v's `-i disk` takes a path, never a URI.
 */
export function v2vArgs(
  disks: V2vDisk[],
  domainXmlPath: string,
  options: V2vArgsOptions = {},
): V2vInvocation {
  if (disks.length === 0) throw new Error('virt-v2v needs at least one disk');
  for (const d of disks) {
    if (d.format !== 'raw' && d.format !== 'qcow2')
      throw new Error(`unsupported disk format ${String(d.format)}`);
    if (!d.path.startsWith('/')) throw new Error(`a disk's path must be absolute: ${d.path}`);
  }
  const root = options.root ?? 'single';
  if (!/^(single|first|\/dev\/[\w/.-]+)$/.test(root)) throw new Error(`bad --root choice ${root}`);
  const args: string[] = [];
  if (options.verbose ?? true) args.push('-v', '-x');
  args.push('--root', root);
  if (disks.length === 1) {
    args.push('-i', 'disk', '-if', disks[0]!.format, disks[0]!.path);
    return { args };
  }
  args.push('-i', 'libvirtxml', domainXmlPath);
  return { args, domainXml: libvirtDomainXml(disks, guestName(disks, options.name), options.sourceBus) };
}
