import { linesOf, splitEol } from '../plan-input';
import type { ConfiguredInterface, NetConfigFile, NetTarget, Rewrite } from './net-config';
import { macLike } from './net-config';

/** Lines that start a stanza (interfaces(5)); any other line belongs to the `iface` stanza above it. */
const STANZA =
  /^\s*(iface|mapping|auto|allow-[\w-]+|source|source-directory|rename|no-auto-down|no-scripts)\b/;
/** Options of an `inet static` stanza that DHCP replaces. */
const STATIC_OPTIONS = new Set(['address', 'netmask', 'gateway', 'broadcast', 'network', 'pointopoint']);

interface Stanza {
  name: string;
  family: string;
  method: string;
  /** Line index of the `iface` line, and of the options after it. */
  at: number;
  options: { at: number; key: string; value: string }[];
}

function stanzas(text: string): { lines: string[]; stanzas: Stanza[] } {
  const lines = linesOf(text);
  const found: Stanza[] = [];
  let current: Stanza | null = null;
  lines.forEach((raw, at) => {
    const [line] = splitEol(raw);
    if (/^\s*(#|$)/.test(line)) return;
    const iface = /^\s*iface\s+(\S+)\s+(\S+)\s+(\S+)/.exec(line);
    if (iface) {
      current = { name: iface[1]!, family: iface[2]!, method: iface[3]!, at, options: [] };
      found.push(current);
      return;
    }
    if (STANZA.test(line)) {
      current = null;
      return;
    }
    const option = /^\s*(\S+)\s*(.*?)\s*$/.exec(line);
    if (current && option) (current as Stanza).options.push({ at, key: option[1]!, value: option[2]! });
  });
  return { lines, stanzas: found };
}

/** ifupdown's /etc/network/interfaces (and interfaces.d/*): each `iface` but lo, and `auto`/`allow-*` names. */
export function parseInterfaces(file: string, text: string): NetConfigFile {
  const interfaces: ConfiguredInterface[] = [];
  const seen = new Set<string>();
  const add = (name: string, isStatic: boolean) => {
    if (name === 'lo' || seen.has(name)) {
      const known = interfaces.find((i) => i.name === name);
      if (known && isStatic) known.static = true;
      return;
    }
    seen.add(name);
    interfaces.push({ name, mac: null, pins: false, static: isStatic });
  };
  for (const s of stanzas(text).stanzas) add(s.name, s.family === 'inet' && s.method === 'static');
  for (const raw of linesOf(text)) {
    const m = /^\s*(auto|allow-[\w-]+)\s+(.*)$/.exec(splitEol(raw)[0]);
    for (const name of m?.[2]?.split(/\s+/).filter(Boolean) ?? []) add(name, false);
  }
  return { file, format: 'ifupdown', interfaces };
}

/**
 * `iface <name> inet static` and its address, netmask, gateway, broadcast and network lines become
 * `iface <name> inet dhcp` (other options, dns-* and up/down commands, stay); `hwaddress` (which sets
 * the MAC) takes the new MAC.
 */
export function rewriteInterfaces(text: string, target: NetTarget): Rewrite {
  const { lines, stanzas: found } = stanzas(text);
  const changes: string[] = [];
  const drop = new Set<number>();
  for (const s of found.filter((x) => x.name === target.name)) {
    for (const o of s.options.filter((x) => x.key === 'hwaddress')) {
      const m = /^(\s*hwaddress\s+(?:ether\s+)?)(\S+)(.*)$/.exec(splitEol(lines[o.at]!)[0]);
      if (!m || m[2]!.toLowerCase() === target.newMac) continue;
      lines[o.at] = `${m[1]}${macLike(m[2]!, target.newMac)}${m[3]}${splitEol(lines[o.at]!)[1]}`;
      changes.push(`${target.name}: hwaddress ${m[2]} → ${target.newMac}`);
    }
    if (!target.dhcp || s.family !== 'inet' || s.method !== 'static') continue;
    const [line, eol] = splitEol(lines[s.at]!);
    lines[s.at] = line.replace(/(\biface\s+\S+\s+inet\s+)static\b/, '$1dhcp') + eol;
    const removed = s.options.filter((o) => STATIC_OPTIONS.has(o.key));
    for (const o of removed) drop.add(o.at);
    changes.push(
      `${target.name}: inet static → inet dhcp` +
        (removed.length ? ` (dropped ${removed.map((o) => `${o.key} ${o.value}`).join(', ')})` : ''),
    );
  }
  return { text: lines.filter((_, i) => !drop.has(i)).join(''), changes };
}
