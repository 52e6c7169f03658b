/**
 * Pure parsers of the kernel's text interfaces (/proc, /sys). Each takes the text as read and throws
 * when the text does not hold what it parses, so that `probe()` turns the throw into an unknown fact
 * with the reason.
 */

/** One `key : value` block of /proc/cpuinfo (one logical CPU). */
export type CpuinfoBlock = Map<string, string>;

export function cpuinfoBlocks(text: string): CpuinfoBlock[] {
  const blocks: CpuinfoBlock[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const block: CpuinfoBlock = new Map();
    for (const line of chunk.split('\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      block.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    if (block.has('processor')) blocks.push(block);
  }
  return blocks;
}

export interface CpuTopology {
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}

export interface Cpuinfo {
  logicalCpus: number;
  /** `model name` of the first CPU; undefined when absent. */
  modelName?: string;
  /** `vendor_id` of the first CPU; undefined when absent. */
  vendor?: string;
  /** The flags every logical CPU has, lower case, sorted; undefined when no CPU lists flags. */
  flags?: string[];
  /** Socket/core/thread counts, or why they cannot be told from the file. */
  topology: CpuTopology | { reason: string };
}

/**
 * /proc/cpuinfo of x86 Linux. Flags are those all logical CPUs share (on a homogeneous host the same
 * as any one CPU's): a guest may run on any of them. The topology counts distinct `physical id`s
 * (sockets) and distinct (`physical id`, `core id`) pairs (cores); it is undefined (with a reason)
 * when those fields are missing or the counts do not divide evenly (e.g. hybrid P/E-core CPUs).
 */
export function parseCpuinfo(text: string): Cpuinfo {
  const blocks = cpuinfoBlocks(text);
  if (blocks.length === 0) throw new Error('no processor entries');
  const first = blocks[0];
  const flagLists = blocks.map((b) => b.get('flags')).filter((f): f is string => f !== undefined);
  let flags: string[] | undefined;
  if (flagLists.length > 0) {
    const sets = flagLists.map((f) => new Set(f.toLowerCase().split(/\s+/).filter(Boolean)));
    flags = [...sets[0]].filter((flag) => sets.every((s) => s.has(flag))).sort();
  }
  return {
    logicalCpus: blocks.length,
    modelName: first.get('model name') || undefined,
    vendor: first.get('vendor_id') || undefined,
    flags,
    topology: cpuTopology(blocks),
  };
}

function cpuTopology(blocks: CpuinfoBlock[]): CpuTopology | { reason: string } {
  const sockets = new Set<string>();
  const cores = new Set<string>();
  for (const block of blocks) {
    const socket = block.get('physical id');
    const core = block.get('core id');
    if (socket === undefined || core === undefined)
      return { reason: 'no physical id/core id in /proc/cpuinfo' };
    sockets.add(socket);
    cores.add(`${socket}/${core}`);
  }
  if (cores.size % sockets.size !== 0 || blocks.length % cores.size !== 0) {
    return {
      reason: `uneven topology (${sockets.size} sockets, ${cores.size} cores, ${blocks.length} logical CPUs)`,
    };
  }
  return {
    sockets: sockets.size,
    coresPerSocket: cores.size / sockets.size,
    threadsPerCore: blocks.length / cores.size,
  };
}

/** MemTotal of /proc/meminfo in MiB (floor). */
export function parseMemTotalMb(text: string): number {
  const match = /^MemTotal:\s+(\d+)\s*kB$/m.exec(text);
  if (!match) throw new Error('no MemTotal line');
  return Math.floor(Number(match[1]) / 1024);
}

/** The page size of a /sys/kernel/mm/hugepages entry (`hugepages-2048kB` → 2048), else undefined. */
export function hugepageSizeKb(dirName: string): number | undefined {
  const match = /^hugepages-(\d+)kB$/.exec(dirName);
  return match ? Number(match[1]) : undefined;
}

/** The bracketed choice of a sysfs mode file: `always [madvise] never` → `madvise`. */
export function parseSelectedMode(text: string): string {
  const match = /\[([^\]]+)\]/.exec(text);
  if (!match) throw new Error(`no selected mode in "${text.trim()}"`);
  return match[1];
}

/** A kernel boolean module parameter: `Y`/`1` → true, `N`/`0` → false. */
export function parseKernelBool(text: string): boolean {
  const value = text.trim();
  if (value === 'Y' || value === 'y' || value === '1') return true;
  if (value === 'N' || value === 'n' || value === '0') return false;
  throw new Error(`not a kernel boolean: "${value}"`);
}

/** A non-negative integer file of sysfs (`nr_hugepages`, `sriov_totalvfs`, `ksm/run`). */
export function parseSysInt(text: string): number {
  const value = text.trim();
  if (!/^\d+$/.test(value)) throw new Error(`not a non-negative integer: "${value}"`);
  return Number(value);
}

/** /sys/kernel/security/lsm (`capability,landlock,apparmor`) → the LSMs, sorted. */
export function parseLsmList(text: string): string[] {
  const names = text
    .trim()
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error('empty LSM list');
  return [...new Set(names)].sort();
}

/** /sys/devices/system/node entries → the number of `nodeN` directories. */
export function countNumaNodes(entries: readonly string[]): number {
  return entries.filter((e) => /^node\d+$/.test(e)).length;
}

/** `os.arch()` → the name Linux and QEMU use (`x64` → `x86_64`). */
export function linuxArch(nodeArch: string): string {
  const names: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686' };
  return names[nodeArch] ?? nodeArch;
}
