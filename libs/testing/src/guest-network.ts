/**
 * What the bootable test guest (tools/build-boot-guest.sh) prints about its network when its VM has
 * a NIC: one line per `iface <name> inet dhcp` of its root's /etc/network/interfaces, after the fstab
 * marker. Then it stays up (its DHCP client renews the lease) instead of powering off.
 */

/** `FERRY-NET-OK <iface> <ip>`: the interface got that address by DHCP. */
export const NET_OK_MARKER = 'FERRY-NET-OK';
/** `FERRY-NET-FAIL <iface>: <reason>`: no such interface (a NIC udev did not rename), or no lease in ~15 s. */
export const NET_FAIL_MARKER = 'FERRY-NET-FAIL';
/** A whole result line of either kind: wait for this on the console. */
export const NET_RESULT = /FERRY-NET-(OK \S+ \d{1,3}(\.\d{1,3}){3}|FAIL [^\n]*)\n/;

export type GuestNetResult =
  { iface: string; ok: true; ip: string } | { iface: string; ok: false; reason: string };

/** Every network result line of a console, in order (complete lines only). */
export function parseNetResults(console: string): GuestNetResult[] {
  const results: GuestNetResult[] = [];
  for (const m of console.matchAll(/^FERRY-NET-(OK|FAIL) ([^\n]*)\n/gm)) {
    const rest = m[2]!;
    if (m[1] === 'OK') {
      const [iface, ip] = rest.split(' ');
      if (iface && ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) results.push({ iface, ok: true, ip });
    } else {
      const colon = rest.indexOf(': ');
      if (colon > 0) results.push({ iface: rest.slice(0, colon), ok: false, reason: rest.slice(colon + 2) });
    }
  }
  return results;
}

/** The address the guest printed last for `iface` (any interface when omitted); undefined if none. */
export function guestAddress(console: string, iface?: string): string | undefined {
  const ok = parseNetResults(console).filter(
    (r): r is Extract<GuestNetResult, { ok: true }> => r.ok && (iface === undefined || r.iface === iface),
  );
  return ok[ok.length - 1]?.ip;
}
