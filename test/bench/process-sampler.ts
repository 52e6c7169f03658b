// The import bench's sampler: from /proc, every 250 ms, the peak RSS of each kind of process in a
// tree, the files they hold open for writing, and the bytes of the other files in some directories.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, round } from './import-disk';

const SAMPLE_MS = 250;

/** A size from /proc/<pid>/status (peak or current RSS), in bytes; 0 when the process is gone. */
export function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The children of `pid` (of any of its threads), from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** Every live process under `roots` (roots included), with what it runs. */
function tree(roots: number[]): Array<{ pid: number; name: string }> {
  const out: Array<{ pid: number; name: string }> = [];
  const walk = (pid: number) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const bin = (argv[0] ?? '').split('/').pop() ?? '';
      // qemu-img convert / qemu-img compare / nbdkit / node (volume-daemon).
      out.push({ pid, name: bin === 'qemu-img' ? `qemu-img ${argv[1]}` : bin });
    } catch {
      return;
    }
    for (const c of childrenOf(pid)) walk(c);
  };
  roots.forEach(walk);
  return out;
}

/**
 * Samples, every 250 ms until stopped: the peak RSS (VmHWM) of each kind of process under `roots`,
 * the allocated bytes of every file under `dirs` but `result`, and the largest regular file that
 * any of those processes holds open for writing elsewhere (a temporary copy would show there).
 */
export class Sampler {
  readonly peakRss = new Map<string, number>();
  otherFilesMax = 0;
  /** Time spent sampling (synchronous work in this process, beside what is measured). */
  spentMs = 0;
  openElsewhereMax = 0;
  openElsewhere = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly roots: () => number[],
    private readonly dirs: string[] = [],
    private readonly result: () => string | undefined = () => undefined,
  ) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.sample();
  }

  private sample(): void {
    const t0 = performance.now();
    this.sampleOnce();
    this.spentMs += performance.now() - t0;
  }

  private sampleOnce(): void {
    for (const { pid, name } of tree(this.roots())) {
      this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, procStatus(pid, 'VmHWM')));
      this.openFiles(pid);
    }
    const result = this.result();
    let other = 0;
    const walk = (dir: string) => {
      let entries: string[] = [];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const e of entries) {
        const path = join(dir, e);
        try {
          const s = statSync(path);
          if (s.isDirectory()) walk(path);
          else if (path !== result) other += s.blocks * 512;
        } catch {
          // Gone meanwhile.
        }
      }
    };
    this.dirs.forEach(walk);
    this.otherFilesMax = Math.max(this.otherFilesMax, other);
  }

  private openFiles(pid: number): void {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (!target.startsWith('/') || target === this.result() || target.startsWith('/dev/')) continue;
        // fdinfo's flags are octal: O_WRONLY (1) or O_RDWR (2).
        const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
        if ((parseInt(flags ?? '0', 8) & 3) === 0) continue;
        const s = statSync(`/proc/${pid}/fd/${fd}`);
        if (!s.isFile()) continue;
        this.openElsewhereMax = Math.max(this.openElsewhereMax, s.blocks * 512);
        if (s.blocks * 512 > MiB) this.openElsewhere.add(target);
      } catch {
        // Closed meanwhile.
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  mib(name: string): number | null {
    const v = this.peakRss.get(name);
    return v === undefined ? null : round(v / MiB, 1);
  }
}
