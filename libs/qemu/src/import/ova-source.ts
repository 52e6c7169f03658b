import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { imageInfo } from '../img/qemu-img';
import type { OvfDisk } from './ovf-descriptor';
import { chooseOvfDisk, parseOvfDisks } from './ovf-descriptor';
import type { ReadAt, TarMember } from './tar-index';
import { listTarMembers } from './tar-index';
import { isVmdkDescriptor } from './vmdk-descriptor';
import type { OpenImportOptions } from './import-source';
import { ImportSourceError, formatBytes, qemuImgFailure } from './import-source';

/** An OVF larger than this is not one (they are a few KiB; the limit bounds what is read whole). */
const MAX_OVF_BYTES = 1024 * 1024;

/** An OVA (a tar) wherever it is: how to read it, and the qemu node that reads it (a file, NBD). */
export interface TarArchive {
  /** For messages: the file name or the redacted URL. */
  name: string;
  sizeBytes: number;
  read: ReadAt;
  fileNode: Record<string, unknown>;
}

/** What an OVA member opens to; the caller adds `close`. */
export interface OpenedMember {
  image: string;
  format: string;
  virtualSizeBytes: number;
  layers: string[];
  sourceBytes: number;
}

/** The OVF (the first `.ovf` member; OVF 1.x puts it first), its disks and the tar's members. */
export async function readOva(
  tar: TarArchive,
): Promise<{ ovf: TarMember; disks: OvfDisk[]; members: TarMember[] }> {
  let members: TarMember[];
  try {
    members = await listTarMembers(tar.read, tar.sizeBytes);
  } catch (err) {
    throw new ImportSourceError('corrupt', `${tar.name} is not a readable OVA: ${(err as Error).message}`);
  }
  const ovf = members.find((m) => m.name.toLowerCase().endsWith('.ovf'));
  if (!ovf) throw new ImportSourceError('unsupported', `${tar.name} is a tar without an .ovf: not an OVA`);
  if (ovf.size > MAX_OVF_BYTES)
    throw new ImportSourceError('unsupported', `${ovf.name} in ${tar.name} is too large for an OVF`);
  try {
    return { ovf, disks: parseOvfDisks((await tar.read(ovf.offset, ovf.size)).toString('utf8')), members };
  } catch (err) {
    if (err instanceof ImportSourceError) throw err;
    throw new ImportSourceError('corrupt', `${ovf.name} in ${tar.name}: ${(err as Error).message}`);
  }
}

/** A chosen disk, or `unsupported` naming how many there are and their files. */
export function pickDisk(disks: OvfDisk[], member: number | string | undefined, where: string): OvfDisk {
  try {
    return chooseOvfDisk(disks, member);
  } catch (err) {
    throw new ImportSourceError('unsupported', `${where}: ${(err as Error).message}`);
  }
}

/**
 * One disk of an OVA, read in place: `{"driver":<format>,"file":{"driver":"raw","offset":…,"size":…,
 * "file":<the tar>}}`, nothing extracted. The member's format is probed here (once, by `imageInfo`) and
 * then named, so convert never probes; a member that names a backing file or is a VMDK text descriptor
 * (whose extents qemu would look for beside the OVA) is refused.
 */
export async function openOvaMember(
  tar: TarArchive,
  member: number | string | undefined,
  options: OpenImportOptions,
): Promise<OpenedMember> {
  const { disks, members } = await readOva(tar);
  const disk = pickDisk(disks, member, tar.name);
  const where = `disk ${disk.index} (${disk.file}) of ${tar.name}`;
  if (disk.packing)
    throw new ImportSourceError(
      'unsupported',
      `${where} is stored ${disk.packing}, which cannot be read in place`,
    );
  const file = members.find((m) => m.name.replace(/^(\.\/)+/, '') === disk.file);
  if (!file) throw new ImportSourceError('not-found', `${where}: the OVA holds no ${disk.file}`);
  if (isVmdkDescriptor(await tar.read(file.offset, Math.min(file.size, 64))))
    throw new ImportSourceError(
      'unsupported',
      `${where} is a VMDK descriptor, whose extents are not in the OVA`,
    );
  const raw = { driver: 'raw', offset: file.offset, size: file.size, file: tar.fileNode };
  const qemu = {
    qemuImg: options.qemuImg ?? 'qemu-img',
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  };
  const info = await imageInfo(`json:${JSON.stringify({ file: raw })}`, qemu).catch((err: unknown) => {
    throw qemuImgFailure(err, `cannot read ${where}`);
  });
  const outside = info.backingFile ?? info.dataFile;
  if (outside !== undefined)
    throw new ImportSourceError(
      'unsupported',
      `${where} names another file (${outside}), which an OVA cannot hold`,
    );
  if (disk.format === 'vmdk' && info.format !== 'vmdk')
    throw new ImportSourceError('corrupt', `${where}: the OVF says vmdk, qemu-img finds ${info.format}`);
  const kind = info.vmdk ? `vmdk ${info.vmdk.createType}` : info.format;
  return {
    image: `json:${JSON.stringify({ driver: info.format, file: raw })}`,
    format: info.format,
    virtualSizeBytes: info.virtualSizeBytes,
    layers: [
      `ova member ${disk.index} of ${disks.length}: ${disk.file} at offset ${file.offset} of ${tar.name} (${kind}, ${formatBytes(info.virtualSizeBytes)})`,
    ],
    sourceBytes: file.size,
  };
}

/** A local file as a TarArchive (reads with one descriptor each, so nothing stays open). */
export function localTar(path: string, sizeBytes: number): TarArchive {
  return {
    name: basename(path),
    sizeBytes,
    fileNode: { driver: 'file', filename: path },
    read: async (offset, length) => {
      const fd = await open(path, 'r');
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fd.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fd.close();
      }
    },
  };
}

/**
 * The disks of a local OVA, in DiskSection order (blank disks left out), for a caller to choose
 * `member` from: their file, format (`vmdk`, or the OVF's format URL) and capacity.
 */
export async function listOvaDisks(
  path: string,
): Promise<
  Array<{ index: number; file: string; format: string; subformat?: string; capacityBytes: number | null }>
> {
  const size = await open(path, 'r').then(
    async (fd) => {
      const { size } = await fd.stat();
      await fd.close();
      return size;
    },
    () => {
      throw new ImportSourceError('not-found', `no such file: ${path}`);
    },
  );
  const { disks } = await readOva(localTar(path, size));
  return disks.map((d) => ({
    index: d.index,
    file: d.file,
    format: d.format,
    ...(d.subformat && { subformat: d.subformat }),
    capacityBytes: d.capacityBytes,
  }));
}
