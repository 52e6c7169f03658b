import { linesOf, splitEol } from '../plan-input';
import type { ConfiguredInterface, NetConfigFile, NetTarget, Rewrite } from './net-config';
import { macLike, matches } from './net-config';

/**
 * Netplan YAML, read line by line in block style (what installers and cloud-init write): the
 * `ethernets:` mapping, each entry's `match:` (macaddress, name), `set-name`, `macaddress`,
 * `addresses`, `gateway4`, `routes`, `dhcp4`. A file in flow style is not understood (nothing found).
 */
interface YamlLine {
  at: number;
  indent: number;
  key: string | null;
  value: string;
  item: boolean;
}

function yamlLines(text: string): { lines: string[]; parsed: YamlLine[] } {
  const lines = linesOf(text);
  const parsed: YamlLine[] = [];
  lines.forEach((raw, at) => {
    const [line] = splitEol(raw);
    if (/^\s*(#|$)/.test(line)) return;
    const indent = line.length - line.trimStart().length;
    const body = line.trim().replace(/\s+#.*$/, '');
    const item = body.startsWith('- ');
    const m = /^(?:- )?(?:"([^"]+)"|'([^']+)'|([^\s:'"][^:]*?))\s*:(?:\s+(.*))?$/.exec(body);
    parsed.push({
      at,
      indent,
      key: m ? (m[1] ?? m[2] ?? m[3] ?? null) : null,
      value: m?.[4]?.trim() ?? '',
      item,
    });
  });
  return { lines, parsed };
}

/** The lines nested under parsed[i] (deeper, or a `- ` list at its own indent right below it). */
function blockEnd(parsed: YamlLine[], i: number): number {
  const { indent } = parsed[i]!;
  let j = i + 1;
  while (
    j < parsed.length &&
    (parsed[j]!.indent > indent || (parsed[j]!.indent === indent && parsed[j]!.item))
  )
    j++;
  return j;
}

function unquote(v: string): string {
  return v.replace(/^(['"])(.*)\1$/, '$2');
}

interface Entry {
  id: string;
  /** Index in parsed of the entry's line, and the end of its block. */
  i: number;
  end: number;
  props: Map<string, number>;
  matchMac: { i: number; value: string } | null;
  matchName: string | null;
  setName: string | null;
}

function entries(parsed: YamlLine[]): Entry[] {
  const eth = parsed.findIndex((l) => l.key === 'ethernets' && l.value === '');
  if (eth < 0) return [];
  const end = blockEnd(parsed, eth);
  const childIndent = parsed[eth + 1]?.indent ?? 0;
  const found: Entry[] = [];
  for (let i = eth + 1; i < end; i++) {
    const l = parsed[i]!;
    if (l.indent !== childIndent || !l.key) continue;
    const entryEnd = blockEnd(parsed, i);
    const propIndent = parsed[i + 1]?.indent ?? 0;
    const props = new Map<string, number>();
    const entry: Entry = {
      id: l.key,
      i,
      end: entryEnd,
      props,
      matchMac: null,
      matchName: null,
      setName: null,
    };
    for (let j = i + 1; j < entryEnd; j++) {
      const p = parsed[j]!;
      if (p.indent === propIndent && p.key && !p.item) props.set(p.key, j);
    }
    const match = props.get('match');
    if (match !== undefined) {
      for (let j = match + 1; j < blockEnd(parsed, match); j++) {
        const p = parsed[j]!;
        if (p.key === 'macaddress') entry.matchMac = { i: j, value: unquote(p.value) };
        if (p.key === 'name') entry.matchName = unquote(p.value);
      }
    }
    const setName = props.get('set-name');
    if (setName !== undefined) entry.setName = unquote(parsed[setName]!.value);
    found.push(entry);
  }
  return found;
}

/** The name an entry gives or applies to: set-name, a match name without wildcards, else its id without match. */
function nameOf(e: Entry): string | null {
  if (e.setName) return e.setName;
  if (e.matchName && !/[*?[]/.test(e.matchName)) return e.matchName;
  return e.matchMac || e.matchName ? null : e.id;
}

function isStatic(parsed: YamlLine[], e: Entry): boolean {
  return (
    ['addresses', 'gateway4', 'routes'].some((k) => e.props.has(k)) &&
    !/^(true|yes|on)$/i.test(dhcp4(parsed, e))
  );
}

function dhcp4(parsed: YamlLine[], e: Entry): string {
  const i = e.props.get('dhcp4');
  return i === undefined ? '' : unquote(parsed[i]!.value);
}

export function parseNetplan(file: string, text: string): NetConfigFile {
  const { parsed } = yamlLines(text);
  const interfaces: ConfiguredInterface[] = entries(parsed).map((e) => ({
    name: nameOf(e),
    mac: e.matchMac?.value.toLowerCase() ?? null,
    pins: !!e.matchMac && !!e.setName,
    static: isStatic(parsed, e),
  }));
  return { file, format: 'netplan', interfaces };
}

/**
 * The entry of the target (by name, or by its MAC in `match:`): `match: macaddress` and `macaddress`
 * take the new MAC; unless static addresses are kept, `addresses`, `gateway4` and `routes` (with
 * what is nested under them) go and `dhcp4: true` comes (nameservers stay).
 */
export function rewriteNetplan(text: string, target: NetTarget): Rewrite {
  const { lines, parsed } = yamlLines(text);
  const changes: string[] = [];
  const drop = new Set<number>();
  const insert = new Map<number, string>();
  const setValue = (p: YamlLine, value: string) => {
    const [line, eol] = splitEol(lines[p.at]!);
    const colon = line.indexOf(':', line.indexOf(p.key!) + p.key!.length - 1);
    const comment = /\s+#.*$/.exec(line.slice(colon + 1))?.[0] ?? '';
    lines[p.at] = `${line.slice(0, colon + 1)} ${value}${comment}${eol}`;
  };
  for (const e of entries(parsed).filter((x) => matches(target, nameOf(x), x.matchMac?.value ?? null))) {
    const macs = [e.matchMac?.i, e.props.get('macaddress')].filter((i): i is number => i !== undefined);
    for (const i of macs) {
      const old = unquote(parsed[i]!.value);
      const mac = macLike(old, target.newMac);
      if (old === mac) continue;
      setValue(parsed[i]!, parsed[i]!.value.startsWith('"') ? `"${mac}"` : mac);
      changes.push(`netplan ${e.id}: ${parsed[i]!.key} ${old} → ${target.newMac}`);
    }
    if (!target.dhcp || !isStatic(parsed, e)) continue;
    const removed: string[] = [];
    for (const key of ['addresses', 'gateway4', 'routes']) {
      const i = e.props.get(key);
      if (i === undefined) continue;
      for (let j = i; j < blockEnd(parsed, i); j++) drop.add(parsed[j]!.at);
      removed.push(key);
    }
    const d = e.props.get('dhcp4');
    if (d !== undefined) setValue(parsed[d]!, 'true');
    else {
      const propIndent = parsed[e.i + 1]!.indent;
      const [, eol] = splitEol(lines[parsed[e.i]!.at]!);
      insert.set(parsed[e.i]!.at, `${' '.repeat(propIndent)}dhcp4: true${eol || '\n'}`);
    }
    changes.push(`netplan ${e.id}: ${removed.join(', ')} → dhcp4: true`);
  }
  const out = lines.flatMap((l, i) => [
    ...(drop.has(i) ? [] : [l]),
    ...(insert.has(i) ? [insert.get(i)!] : []),
  ]);
  return { text: out.join(''), changes };
}
