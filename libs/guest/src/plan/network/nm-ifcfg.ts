import { linesOf, splitEol } from '../plan-input';
import type { NetConfigFile, NetTarget, Rewrite } from './net-config';
import { macLike, matches, parseAssignment } from './net-config';
import { sectioned } from './udev-link';

/** A keyfile's MAC (`00:50:56:A1:2B:3C`, once `00:50:56:A1:2B:3C;`), lower-case. */
function keyfileMac(value: string): string | null {
  const v = value.replace(/;$/, '').trim();
  return /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(v) ? v.toLowerCase().replace(/-/g, ':') : null;
}

function keyfileFacts(text: string) {
  let name: string | null = null;
  let mac: string | null = null;
  let method = '';
  let address = false;
  let type = '';
  for (const { line, section } of sectioned(text)) {
    const a = parseAssignment(line);
    if (!a) continue;
    if (section === 'connection' && a.key === 'interface-name') name = a.value;
    if (section === 'connection' && a.key === 'type') type = a.value;
    if (section === 'ethernet' && a.key === 'mac-address') mac = keyfileMac(a.value);
    if (section === 'ipv4' && a.key === 'method') method = a.value;
    if (section === 'ipv4' && /^address(es)?\d*$/.test(a.key)) address = true;
  }
  return {
    name,
    mac,
    static: method === 'manual' && address,
    ethernet: type === 'ethernet' || type === '802-3-ethernet',
  };
}

/** A NetworkManager keyfile (`[connection] interface-name=`, `[ethernet] mac-address=`, `[ipv4] method=`). */
export function parseKeyfile(file: string, text: string): NetConfigFile {
  const f = keyfileFacts(text);
  if (!f.ethernet && !f.name && !f.mac) return { file, format: 'nm', interfaces: [] };
  return { file, format: 'nm', interfaces: [{ name: f.name, mac: f.mac, pins: false, static: f.static }] };
}

/** `mac-address=` takes the new MAC; `[ipv4] method=manual` → `auto`, its addressN=, gateway= and routeN= go. */
export function rewriteKeyfile(text: string, target: NetTarget): Rewrite {
  const f = keyfileFacts(text);
  if (!matches(target, f.name, f.mac)) return { text, changes: [] };
  const changes: string[] = [];
  const dhcp = target.dhcp && f.static;
  const dropped: string[] = [];
  const out = sectioned(text).flatMap(({ raw, line, eol, section }) => {
    const a = parseAssignment(line);
    if (!a) return [raw];
    if (section === 'ethernet' && a.key === 'mac-address' && keyfileMac(a.value)) {
      const mac = macLike(a.value, target.newMac);
      if (keyfileMac(a.value) === target.newMac) return [raw];
      changes.push(`keyfile: mac-address ${a.value} → ${mac}`);
      return [`mac-address=${mac}${eol}`];
    }
    if (!dhcp || section !== 'ipv4') return [raw];
    if (a.key === 'method') return [`method=auto${eol}`];
    if (/^(address(es)?\d*|gateway|route\d*(_options)?)$/.test(a.key)) {
      dropped.push(`${a.key}=${a.value}`);
      return [];
    }
    return [raw];
  });
  if (dhcp) changes.push(`keyfile: [ipv4] method=manual → auto (dropped ${dropped.join(', ')})`);
  return { text: out.join(''), changes };
}

/** ifcfg keys that describe a static IPv4 address (with an index suffix: IPADDR1, PREFIX0, …). */
const IFCFG_STATIC = /^(IPADDR|NETMASK|PREFIX|GATEWAY|BROADCAST|NETWORK)\d*$/;

function ifcfgFacts(file: string, text: string) {
  const vars = new Map<string, string>();
  for (const raw of linesOf(text)) {
    const [line] = splitEol(raw);
    if (/^\s*#/.test(line)) continue;
    const a = parseAssignment(line);
    if (a) vars.set(a.key, a.value);
  }
  const fromFile = /ifcfg-(.+)$/.exec(file)?.[1] ?? null;
  const name = vars.get('DEVICE') || vars.get('NAME') || fromFile;
  const mac = keyfileMac(vars.get('HWADDR') ?? '');
  const proto = (vars.get('BOOTPROTO') ?? 'none').toLowerCase();
  const hasAddress = [...vars.keys()].some((k) => /^IPADDR\d*$/.test(k) && vars.get(k) !== '');
  return {
    name: name || null,
    mac,
    static: (proto === 'none' || proto === 'static' || proto === '') && hasAddress,
  };
}

/** An ifcfg file (RHEL's network-scripts, SUSE's sysconfig/network): DEVICE, HWADDR, BOOTPROTO, IPADDR…. */
export function parseIfcfg(file: string, text: string): NetConfigFile {
  const f = ifcfgFacts(file, text);
  if (f.name === 'lo') return { file, format: 'ifcfg', interfaces: [] };
  return {
    file,
    format: 'ifcfg',
    interfaces: [{ name: f.name, mac: f.mac, pins: !!f.mac, static: f.static }],
  };
}

/** HWADDR= and MACADDR= take the new MAC; BOOTPROTO=none|static → dhcp, its IPADDR/NETMASK/PREFIX/GATEWAY go. */
export function rewriteIfcfg(file: string, text: string, target: NetTarget): Rewrite {
  const f = ifcfgFacts(file, text);
  if (!matches(target, f.name, f.mac)) return { text, changes: [] };
  const dhcp = target.dhcp && f.static;
  const changes: string[] = [];
  const dropped: string[] = [];
  let proto = false;
  const out = linesOf(text).flatMap((raw) => {
    const [line, eol] = splitEol(raw);
    const a = /^\s*#/.test(line) ? null : parseAssignment(line);
    if (!a) return [raw];
    if ((a.key === 'HWADDR' || a.key === 'MACADDR') && keyfileMac(a.value)) {
      if (keyfileMac(a.value) === target.newMac) return [raw];
      const mac = macLike(a.value, target.newMac);
      changes.push(`${a.key} ${a.value} → ${mac}`);
      return [`${a.key}=${a.quote}${mac}${a.quote}${eol}`];
    }
    if (!dhcp) return [raw];
    if (a.key === 'BOOTPROTO') {
      proto = true;
      return [`BOOTPROTO=${a.quote}dhcp${a.quote}${eol}`];
    }
    if (IFCFG_STATIC.test(a.key)) {
      dropped.push(`${a.key}=${a.value}`);
      return [];
    }
    return [raw];
  });
  if (dhcp && !proto)
    out.push(`${out.length && !out[out.length - 1]!.endsWith('\n') ? '\n' : ''}BOOTPROTO=dhcp\n`);
  if (dhcp) changes.push(`BOOTPROTO → dhcp (dropped ${dropped.join(', ')})`);
  return { text: out.join(''), changes };
}
