import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GuestfishResult } from '@ferry/qemu';
import type { GuestfishRunner } from '../files/guestfish-paths';

type Node =
  { kind: 'file'; data: Buffer; mode: number } | { kind: 'directory' } | { kind: 'symlink'; target: string };

/** guestfish's argument syntax: words, or double-quoted strings with C escapes. */
export function parseGuestfishArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    let word = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          i++;
          const c = line[i];
          if (c !== '\\' && c !== '"') throw new Error(`invalid escape sequence in ${line}`);
        }
        word += line[i++];
      }
      i++;
    } else {
      while (i < line.length && line[i] !== ' ') word += line[i++];
    }
    args.push(word);
  }
  return args;
}

/**
 * A guest filesystem in memory that answers the guestfish commands libs/guest sends, as guestfish
 * 1.48 prints them (checked against the real one in the integration spec): for unit specs only, where
 * the real appliance (about 20 s a boot) would make each case slow. `download` writes the host file.
 */
export class MemoryGuestfish implements GuestfishRunner {
  readonly nodes = new Map<string, Node>([['/', { kind: 'directory' }]]);
  readonly log: string[] = [];
  /** A command (by its first word) that fails, with this message. */
  failing = new Map<string, string>();
  /** What `list-filesystems` and `inspect-get-mountpoints` print (libguestfs's inspection is not simulated). */
  inspection = { filesystems: '', mountpoints: '' };
  /** Runs for `command` edits: what the guest program would do. */
  onCommand: (argv: string[], guest: MemoryGuestfish) => void = () => undefined;

  constructor(files: Record<string, string | { dir: true } | { link: string }> = {}) {
    for (const [path, v] of Object.entries(files)) {
      if (typeof v === 'string') this.write(path, v);
      else if ('dir' in v) this.mkdirp(path);
      else this.link(path, v.link);
    }
  }

  write(path: string, text: string | Buffer): void {
    this.mkdirp(dirname(path));
    const old = this.nodes.get(path);
    this.nodes.set(path, {
      kind: 'file',
      data: Buffer.from(text),
      mode: old?.kind === 'file' ? old.mode : 0o644,
    });
  }

  link(path: string, target: string): void {
    this.mkdirp(dirname(path));
    this.nodes.set(path, { kind: 'symlink', target });
  }

  mkdirp(path: string): void {
    for (let p = path; p !== '/' && !this.nodes.has(p); p = dirname(p))
      this.nodes.set(p, { kind: 'directory' });
  }

  text(path: string): string | undefined {
    const n = this.nodes.get(path);
    return n?.kind === 'file' ? n.data.toString('utf8') : undefined;
  }

  run(commands: string[]): Promise<GuestfishResult[]> {
    return Promise.resolve(
      commands.map((line) => {
        this.log.push(line);
        const [verb, ...args] = parseGuestfishArgs(line);
        const fail = this.failing.get(verb!);
        if (fail) return { out: '', errors: [`${verb}: ${fail}`] };
        try {
          return { out: this.answer(verb!, args), errors: [] };
        } catch (err) {
          return { out: '', errors: [`${verb}: ${(err as Error).message}`] };
        }
      }),
    );
  }

  private get(path: string): Node {
    const n = this.nodes.get(path);
    if (!n) throw new Error(`${path}: No such file or directory`);
    return n;
  }

  private answer(verb: string, args: string[]): string {
    const [a = '', b = ''] = args;
    switch (verb) {
      case 'glob-expand': {
        const re = new RegExp(
          `^${a
            .split('*')
            .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*')}$`,
        );
        return [...this.nodes.keys()]
          .filter((p) => re.test(p))
          .map((p) => (this.nodes.get(p)!.kind === 'directory' ? `${p}/` : p))
          .sort()
          .map((p) => `${p}\n`)
          .join('');
      }
      case 'lstatns': {
        const n = this.get(a);
        const mode = n.kind === 'file' ? 0o100000 | n.mode : n.kind === 'directory' ? 0o40755 : 0o120777;
        const size = n.kind === 'file' ? n.data.length : n.kind === 'symlink' ? n.target.length : 1024;
        return `st_dev: 2050\nst_ino: 12\nst_mode: ${mode}\nst_nlink: 1\nst_size: ${size}\n`;
      }
      case 'checksum': {
        const n = this.get(b);
        if (n.kind !== 'file') throw new Error(`${b}: Is a directory`);
        return `${createHash('sha256').update(n.data).digest('hex')}\n`;
      }
      case 'download':
      case 'download-offset': {
        const n = this.get(a);
        if (n.kind !== 'file') throw new Error(`${a}: not a regular file`);
        const data =
          verb === 'download' ? n.data : n.data.subarray(Number(args[2]), Number(args[2]) + Number(args[3]));
        writeFileSync(b, data);
        return '';
      }
      case 'find': {
        this.get(a);
        return [...this.nodes.keys()]
          .filter((p) => p.startsWith(`${a}/`))
          .map((p) => `${p.slice(a.length)}\n`)
          .join('');
      }
      case 'readlink': {
        const n = this.get(a);
        if (n.kind !== 'symlink') throw new Error(`${a}: Invalid argument`);
        return `${n.target}\n`;
      }
      case 'mkdir-p':
        this.mkdirp(a);
        return '';
      case 'upload':
        if (this.nodes.get(dirname(b))?.kind !== 'directory')
          throw new Error(`${b}: No such file or directory`);
        this.write(b, readFileSync(a));
        return '';
      case 'rename': {
        this.get(a);
        for (const p of [...this.nodes.keys()].filter((k) => k === a || k.startsWith(`${a}/`))) {
          this.nodes.set(b + p.slice(a.length), this.nodes.get(p)!);
          this.nodes.delete(p);
        }
        return '';
      }
      case 'ln-sf':
        if (this.nodes.get(dirname(b))?.kind !== 'directory')
          throw new Error(`${b}: No such file or directory`);
        this.nodes.set(b, { kind: 'symlink', target: a });
        return '';
      case 'rm-rf':
        for (const p of [...this.nodes.keys()].filter((k) => k === a || k.startsWith(`${a}/`)))
          this.nodes.delete(p);
        return '';
      case 'command':
        this.onCommand(a.split(' '), this);
        return '';
      case 'list-filesystems':
        return this.inspection.filesystems;
      case 'inspect-get-mountpoints':
        return this.inspection.mountpoints;
      case 'inspect-os':
      case 'sync':
      case 'mount':
      case 'mount-ro':
      case 'umount-all':
        return '';
      default:
        throw new Error('unknown command');
    }
  }
}
