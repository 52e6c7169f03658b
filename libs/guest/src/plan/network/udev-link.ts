import { linesOf, splitEol } from '../plan-input';
import type { NetConfigFile, NetTarget, Rewrite } from './net-config';
import { macLike, matches } from './net-config';

const ADDRESS = /(ATTRS?\{address\}\s*==\s*")([^"]*)(")/;
const NAME = /(?:^|[\s,])NAME\s*:?=\s*"([^"]*)"/;

/** udev rules that name an interface after its MAC (`70-persistent-net.rules`, written by hand or by write_net_rules). */
export function parseUdevRules(file: string, text: string): NetConfigFile {
  const interfaces = linesOf(text).flatMap((raw) => {
    const [line] = splitEol(raw);
    if (/^\s*#/.test(line)) return [];
    const mac = ADDRESS.exec(line)?.[2];
    const name = NAME.exec(line)?.[1];
    return mac && name ? [{ name, mac: mac.toLowerCase(), pins: true, static: false }] : [];
  });
  return { file, format: 'udev', interfaces };
}

/** The rule that names `target.name` now matches its new MAC. */
export function rewriteUdevRules(text: string, target: NetTarget): Rewrite {
  const changes: string[] = [];
  const lines = linesOf(text).map((raw) => {
    const [line, eol] = splitEol(raw);
    if (/^\s*#/.test(line)) return raw;
    const address = ADDRESS.exec(line);
    const name = NAME.exec(line)?.[1] ?? null;
    if (!address || name !== target.name) return raw;
    const mac = macLike(address[2]!, target.newMac);
    if (address[2] === mac) return raw;
    changes.push(`the udev rule naming ${name} now matches ${target.newMac} (was ${address[2]})`);
    return line.replace(ADDRESS, `$1${mac}$3`) + eol;
  });
  return { text: lines.join(''), changes };
}

/** A rule that gives the new NIC the name the guest configures, for a guest that had none. */
export function udevRule(name: string, mac: string, label: string, sourceMac: string | null): string {
  return (
    `# Added by Ferry: ${label}${sourceMac ? ` (${sourceMac} on VMware)` : ''} keeps the name ${name} on KVM\n` +
    `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${mac.toLowerCase()}", NAME="${name}"\n`
  );
}

/** Sections of an INI-style file (systemd units, NetworkManager keyfiles): each line with its section. */
export function sectioned(text: string): { raw: string; line: string; eol: string; section: string }[] {
  let section = '';
  return linesOf(text).map((raw) => {
    const [line, eol] = splitEol(raw);
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) section = header[1]!.trim();
    return { raw, line, eol, section };
  });
}

/** A systemd .link file that names an interface after its MAC (`[Match] MACAddress=`, `[Link] Name=`). */
export function parseLinkFile(file: string, text: string): NetConfigFile {
  let mac: string | null = null;
  let name: string | null = null;
  for (const { line, section } of sectioned(text)) {
    const m = /^\s*(MACAddress|PermanentMACAddress|Name)\s*=\s*(\S+)/.exec(line);
    if (!m) continue;
    if (section === 'Match' && m[1] !== 'Name') mac = m[2]!.toLowerCase();
    if (section === 'Link' && m[1] === 'Name') name = m[2]!;
  }
  return { file, format: 'link', interfaces: mac && name ? [{ name, mac, pins: true, static: false }] : [] };
}

export function rewriteLinkFile(text: string, target: NetTarget): Rewrite {
  const parsed = parseLinkFile('', text).interfaces[0];
  if (!parsed || parsed.name !== target.name) return { text, changes: [] };
  const changes: string[] = [];
  const lines = sectioned(text).map(({ raw, line, eol, section }) => {
    const m = /^(\s*(?:MACAddress|PermanentMACAddress)\s*=\s*)(\S+)(.*)$/.exec(line);
    if (section !== 'Match' || !m || !matches(target, null, m[2]!)) return raw;
    const mac = macLike(m[2]!, target.newMac);
    if (m[2] === mac) return raw;
    changes.push(`the .link file naming ${target.name} now matches ${target.newMac} (was ${m[2]})`);
    return `${m[1]}${mac}${m[3]}${eol}`;
  });
  return { text: lines.join(''), changes };
}
