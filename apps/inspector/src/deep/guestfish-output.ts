/** Parsers of what guestfish prints for the commands the inspection sends (`guestfish(1)`). */

/** The non-empty lines of a list answer (`inspect-os`, `list-devices`, `grep`). */
export function parseList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * A hash answer, one `key: value` per line (`inspect-get-mountpoints`, `list-filesystems`, `blkid`),
 * in the order printed. Split at the first `: `, since values (fstab specs) may hold colons.
 */
export function parseHash(out: string): [string, string][] {
  return parseList(out).flatMap((line): [string, string][] => {
    const at = line.indexOf(': ');
    if (at > 0) return [[line.slice(0, at), line.slice(at + 2)]];
    // An empty value: guestfish prints `KEY: ` and the trim above ate the space.
    return line.endsWith(':') ? [[line.slice(0, -1), '']] : [];
  });
}

/** A string answer; libguestfs says `unknown` (or nothing, after an error) when it could not tell. */
export function parseString(out: string): string | null {
  const value = out.replace(/\n$/, '').trim();
  return value === '' || value === 'unknown' ? null : value;
}

/** An int answer; libguestfs's 0 is "could not tell" for versions. */
export function parseVersion(out: string): number | null {
  const value = Number.parseInt(out.trim(), 10);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/** A bool answer (`is-file`, `is-dir`); null after an error. */
export function parseBool(out: string): boolean | null {
  const value = out.trim();
  return value === 'true' ? true : value === 'false' ? false : null;
}

export interface FstabEntry {
  spec: string;
  path: string;
  type: string | null;
  options: string | null;
}

/** `/etc/fstab` as written: spec, mountpoint, type and options, `\040`-style escapes decoded. */
export function parseFstab(text: string): FstabEntry[] {
  const unescape = (field: string) =>
    field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return text.split('\n').flatMap((raw) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return [];
    const [spec, path, type, options] = line.split(/\s+/).map(unescape);
    if (!spec || !path) return [];
    return [{ spec, path, type: type ?? null, options: options ?? null }];
  });
}

/** Whether an fstab entry lets the boot go on without its device (`nofail`, `noauto`), or is swap. */
export function isOptionalMount(entry: FstabEntry): boolean {
  const options = (entry.options ?? '').split(',');
  return options.includes('nofail') || options.includes('noauto') || entry.type === 'swap';
}

/** The whole-disk device of a partition as the appliance names it (`/dev/sdb2` → `/dev/sdb`). */
export function diskOfPartition(device: string): string | null {
  const m = /^(\/dev\/(?:[sv]d[a-z]+))\d*$/.exec(device);
  return m?.[1] ?? null;
}
