import { GuestFixConcernCodes } from '@ferry/contracts';
import {
  IFCFG,
  IFUPDOWN_INTERFACES,
  NETPLAN,
  NM_KEYFILES,
  PERSISTENT_NET_RULES,
  SYSTEMD_LINKS,
  UDEV_RULES,
} from '../../files/guest-fix-files';
import type { FixerResult, GuestFileSet, GuestFixInput, NicMapping } from '../plan-input';
import { emptyResult, normalizeMac, writeEdit } from '../plan-input';
import { parseInterfaces, rewriteInterfaces } from './ifupdown';
import type { NetConfigFile, NetTarget, Rewrite } from './net-config';
import { sameMac } from './net-config';
import { parseNetplan, rewriteNetplan } from './netplan';
import { parseIfcfg, parseKeyfile, rewriteIfcfg, rewriteKeyfile } from './nm-ifcfg';
import { parseLinkFile, parseUdevRules, rewriteLinkFile, rewriteUdevRules, udevRule } from './udev-link';

type Format = NetConfigFile['format'];

const PARSERS: Record<Format, (file: string, text: string) => NetConfigFile> = {
  udev: parseUdevRules,
  link: parseLinkFile,
  ifupdown: parseInterfaces,
  netplan: parseNetplan,
  nm: parseKeyfile,
  ifcfg: parseIfcfg,
};

function rewrite(format: Format, file: string, text: string, target: NetTarget): Rewrite {
  switch (format) {
    case 'udev':
      return rewriteUdevRules(text, target);
    case 'link':
      return rewriteLinkFile(text, target);
    case 'ifupdown':
      return rewriteInterfaces(text, target);
    case 'netplan':
      return rewriteNetplan(text, target);
    case 'nm':
      return rewriteKeyfile(text, target);
    case 'ifcfg':
      return rewriteIfcfg(file, text, target);
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}

/** eth2 before eth10, ens192 before ens224 (vSphere's PCI slots follow the NICs' order). */
function natural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function configFiles(
  files: GuestFileSet,
  result: FixerResult,
): { path: string; format: Format; text: string }[] {
  const paths: [Format, string[]][] = [
    ['udev', [...new Set([PERSISTENT_NET_RULES, ...files.matching(UDEV_RULES).map((f) => f.path)])]],
    ['link', files.matching(SYSTEMD_LINKS).map((f) => f.path)],
    ['ifupdown', [IFUPDOWN_INTERFACES, ...files.matching('/etc/network/interfaces.d/*').map((f) => f.path)]],
    ['netplan', files.matching(NETPLAN).map((f) => f.path)],
    ['nm', files.matching(NM_KEYFILES).map((f) => f.path)],
    ['ifcfg', IFCFG.flatMap((g) => files.matching(g).map((f) => f.path))],
  ];
  return paths.flatMap(([format, list]) =>
    list.flatMap((path) => {
      const text = files.text(path);
      const why = files.unreadable(path);
      if (why) result.notes.push(`${why}: not used for the network`);
      return text === null ? [] : [{ path, format, text }];
    }),
  );
}

/**
 * The guest keeps its interface names on the new NICs, pinned to the new MACs, and (unless static
 * addresses are kept) asks DHCP for an address. Each NIC of the new VM is mapped to the guest name
 * pinned to its source MAC (or already to its new MAC), else, for one NIC and one configured name,
 * that name, else, as many names as NICs, in order; a NIC left over comes up under its kernel name
 * (a warning). Then every rule, .link, netplan entry, keyfile and ifcfg file of a mapped name is
 * rewritten, and a name no rule pins gets a line in 70-persistent-net.rules.
 */
export function planNetworkFix(input: GuestFixInput, files: GuestFileSet): FixerResult {
  const result = emptyResult();
  const configs = configFiles(files, result);
  const parsed = configs.map((c) => ({ ...c, ...PARSERS[c.format](c.path, c.text) }));
  const interfaces = parsed.flatMap((p) =>
    p.interfaces.map((i) => ({ ...i, file: p.path, format: p.format })),
  );
  const nics = input.nics.map((n) => ({
    ...n,
    newMac: normalizeMac(n.newMac),
    sourceMac: n.sourceMac && normalizeMac(n.sourceMac),
  }));
  if (nics.length === 0) {
    result.notes.push('the new VM has no NIC: the network configuration is left as it is');
    return result;
  }
  const bound = interfaces.filter((i) => i.name !== null && i.mac !== null);
  const names = [...new Set(interfaces.flatMap((i) => (i.name ? [i.name] : [])))].sort(natural);
  const macsOfNics = nics.flatMap((n) => [n.sourceMac, n.newMac]);
  // A name bound to a MAC no NIC has belongs to a NIC that is not moved: it is not handed out.
  const foreign = new Set(
    bound.filter((i) => !macsOfNics.some((m) => sameMac(m, i.mac))).map((i) => i.name!),
  );

  const mapped = new Map<NicMapping, { name: string; how: string }>();
  for (const nic of nics) {
    const pin =
      bound.find((i) => sameMac(i.mac, nic.sourceMac)) ?? bound.find((i) => sameMac(i.mac, nic.newMac));
    if (pin) mapped.set(nic, { name: pin.name!, how: `bound to its MAC by ${pin.file}` });
  }
  const taken = new Set([...mapped.values()].map((m) => m.name));
  const freeNames = names.filter((n) => !taken.has(n) && !foreign.has(n));
  const freeNics = nics.filter((n) => !mapped.has(n));
  if (freeNics.length === 1 && freeNames.length === 1) {
    mapped.set(freeNics[0]!, { name: freeNames[0]!, how: 'the only interface the guest configures' });
  } else if (freeNics.length > 0 && freeNics.length === freeNames.length) {
    freeNics.forEach((nic, i) =>
      mapped.set(nic, {
        name: freeNames[i]!,
        how: `as many configured names as NICs: taken in order (${freeNames.join(', ')})`,
      }),
    );
  } else {
    for (const nic of freeNics) {
      result.warnings.push({
        code: GuestFixConcernCodes.NIC_UNMAPPED,
        severity: 'warning',
        message:
          `${nic.label} (${nic.newMac}) matches no interface the guest configures ` +
          `(${freeNames.length ? freeNames.join(', ') : 'none left'}): it comes up under its kernel name, unconfigured`,
        subject: nic.label,
      });
    }
  }
  for (const name of foreign)
    result.notes.push(`${name} is bound to a MAC no NIC of the new VM has: left alone`);

  const targets: (NetTarget & { nic: NicMapping })[] = nics
    .filter((n) => mapped.has(n))
    .map((nic) => ({
      nic,
      name: mapped.get(nic)!.name,
      macs: [nic.sourceMac, nic.newMac].filter((m): m is string => !!m),
      newMac: nic.newMac,
      dhcp: !input.options.keepStaticIp,
    }));
  for (const t of targets)
    result.notes.push(`${t.nic.label} (${t.newMac}) is ${t.name}: ${mapped.get(t.nic)!.how}`);

  const newText = new Map(parsed.map((p) => [p.path, p.text]));
  for (const p of parsed) {
    for (const t of targets) {
      const r = rewrite(p.format, p.path, newText.get(p.path)!, t);
      newText.set(p.path, r.text);
      result.notes.push(...r.changes.map((c) => `${p.path}: ${c}`));
    }
  }
  for (const t of targets) {
    const renames = interfaces.some(
      (i) =>
        i.name === t.name &&
        (i.format === 'udev' || i.format === 'link' || (i.format === 'netplan' && i.pins)),
    );
    if (!renames && files.unreadable(PERSISTENT_NET_RULES)) {
      result.warnings.push({
        code: GuestFixConcernCodes.FILE_NOT_EDITABLE,
        severity: 'warning',
        message: `${files.unreadable(PERSISTENT_NET_RULES)}: ${t.name} is not pinned to ${t.newMac}`,
        subject: PERSISTENT_NET_RULES,
      });
    } else if (!renames) {
      const current = newText.get(PERSISTENT_NET_RULES) ?? '';
      const sep = current === '' || current.endsWith('\n') ? '' : '\n';
      newText.set(
        PERSISTENT_NET_RULES,
        `${current}${sep}${udevRule(t.name, t.newMac, t.nic.label, t.nic.sourceMac)}`,
      );
      result.notes.push(
        `${PERSISTENT_NET_RULES}: a rule gives the NIC with MAC ${t.newMac} the name ${t.name} (no rule pinned it before)`,
      );
    }
    const statics = interfaces.filter(
      (i) => i.static && (i.name === t.name || t.macs.some((m) => sameMac(m, i.mac))),
    );
    if (input.options.keepStaticIp && statics.length) {
      result.warnings.push({
        code: GuestFixConcernCodes.STATIC_IP_KEPT,
        severity: 'warning',
        message: `${t.name} keeps its static address (${statics.map((s) => s.file).join(', ')}): the new network must reach it`,
        subject: t.name,
      });
    }
  }
  const order = [...new Set([...parsed.map((p) => p.path), PERSISTENT_NET_RULES])].sort(natural);
  for (const path of order) {
    const text = newText.get(path);
    if (text !== undefined) result.edits.push(...writeEdit(files, path, text));
  }
  if (result.edits.length === 0) result.notes.push('the network configuration already fits the new NICs');
  return result;
}
