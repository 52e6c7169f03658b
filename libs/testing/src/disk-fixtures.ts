import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';

export const MiB = 1024 * 1024;

/** qemu-img, qemu-io and tar as the fixtures below run them: two minutes each at most. */
export function runTool(tool: 'qemu-img' | 'qemu-io' | 'tar', args: string[], cwd?: string): Promise<string> {
  const argv = cwd && tool === 'tar' ? ['-C', cwd, ...args] : args;
  return runCommand(tool, argv, 120_000);
}

/**
 * A sparse raw disk of `sizeBytes` with one MiB of data at each offset of `at`: bytes that depend on
 * the offset and `seed` (so two disks differ, and a MiB copied to the wrong place shows), a hole
 * everywhere else.
 */
export async function patternedRaw(path: string, sizeBytes: number, at: number[], seed = 0): Promise<void> {
  await writeFile(path, '');
  const fd = await open(path, 'r+');
  try {
    await fd.truncate(sizeBytes);
    for (const offset of at) {
      const chunk = Buffer.alloc(Math.min(MiB, sizeBytes - offset));
      for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + offset / 512 + seed * 7) & 0xff;
      chunk.write(`ferry ${seed} at ${offset}`);
      await fd.write(chunk, 0, chunk.length, offset);
    }
  } finally {
    await fd.close();
  }
}

/** `qemu-io -c 'write -P <pattern> <offset> <length>'`: data written through the image's own driver. */
export async function writePattern(
  image: string,
  format: string,
  pattern: number,
  offset: number,
  length: number,
) {
  await runTool('qemu-io', ['-f', format, '-c', `write -P ${pattern} ${offset} ${length}`, image]);
}

export interface OvaDisk {
  /** A file in the OVA's directory. */
  file: string;
  capacityBytes: number;
  /** Default streamOptimized. */
  subformat?: string;
}

/**
 * `<name>.ovf` in `dir` naming `disks` (in that DiskSection order, each with its own File), and
 * `<name>.ova`: the OVF and the disks packed with tar in the same order, as OVF 1.x requires.
 */
export async function buildOva(
  dir: string,
  name: string,
  disks: OvaDisk[],
): Promise<{ ovf: string; ova: string }> {
  const files = await Promise.all(
    disks.map(async (d, i) => {
      const fd = await open(join(dir, d.file), 'r');
      const { size } = await fd.stat();
      await fd.close();
      return `    <File ovf:href="${d.file}" ovf:id="file${i + 1}" ovf:size="${size}"/>`;
    }),
  );
  const format = (d: OvaDisk) =>
    `http://www.vmware.com/interfaces/specifications/vmdk.html#${d.subformat ?? 'streamOptimized'}`;
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
${files.join('\n')}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
${disks
  .map(
    (d, i) =>
      `    <Disk ovf:capacity="${d.capacityBytes / MiB}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}" ovf:format="${format(d)}"/>`,
  )
  .join('\n')}
  </DiskSection>
  <VirtualSystem ovf:id="${name}"><Info>A virtual machine</Info></VirtualSystem>
</Envelope>
`;
  const ovf = join(dir, `${name}.ovf`);
  const ova = join(dir, `${name}.ova`);
  await writeFile(ovf, xml);
  await runTool('tar', ['-cf', ova, `${name}.ovf`, ...disks.map((d) => d.file)], dir);
  return { ovf, ova };
}
