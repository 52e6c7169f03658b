/** Parsers of virsh's plain-text outputs (everything that is not XML). */

/**
 * `virsh nodememstats`: lines like `total  :  24684092 KiB`. Returns the values in KiB by name; throws
 * when there is no `total` (the figure the driver needs).
 */
export function parseNodeMemStats(output: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const m = /^\s*([a-z_]+)\s*:\s*(\d+)\s*KiB\s*$/i.exec(line);
    if (m) stats[m[1].toLowerCase()] = Number(m[2]);
  }
  if (stats['total'] === undefined) throw new Error('virsh nodememstats printed no "total : N KiB" line');
  return stats;
}

/**
 * `virsh version`: the `Running hypervisor: QEMU 7.2.22` line. Returns undefined fields when virsh
 * does not print it (some drivers cannot tell the hypervisor version).
 */
export function parseVersion(output: string): { hypervisor?: string; version?: string; library?: string } {
  const running = /^Running hypervisor:\s*(\S+)\s+(\S+)\s*$/m.exec(output);
  const library = /^Using library:\s*libvirt\s+(\S+)\s*$/m.exec(output);
  return { hypervisor: running?.[1], version: running?.[2], library: library?.[1] };
}

/**
 * `virsh iface-list --all` (libvirt 9 has no `--name` for it): the first column of the rows below the
 * dashed line.
 */
export function parseIfaceList(output: string): string[] {
  const lines = output.split('\n');
  const dashes = lines.findIndex((l) => /^-{3,}\s*$/.test(l.trim()));
  if (dashes < 0) throw new Error('virsh iface-list printed no table');
  return lines
    .slice(dashes + 1)
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((name): name is string => !!name);
}

/** Outputs of `--name` listings (`pool-list --name`, `net-list --name`, `nodedev-list`): one name a line. */
export function parseNameList(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
