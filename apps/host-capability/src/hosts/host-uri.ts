import type { DiscoveryDriver } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';

/** libvirt drivers a URI may name, and the transports it may use (`qemu+ssh`). */
const LIBVIRT_DRIVERS = new Set(['qemu', 'test', 'lxc', 'xen', 'libxl', 'bhyve', 'ch', 'vz']);
const TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2', 'tcp', 'tls', 'unix', 'ext']);
const SCHEME = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?:$/;

export interface HostTarget {
  driver: DiscoveryDriver;
  uri: string;
}

function invalid(reason: string): FerryError {
  return FerryError.validation(`invalid uri: ${reason}`, [{ field: 'uri', messages: [reason] }]);
}

/**
 * `local`, or a libvirt URI: `driver[+transport]://[user@][host][:port]/path[?params]`. Passwords are
 * refused: they would be stored and shown with the host; use ssh keys or libvirt's auth file.
 */
export function parseHostUri(raw: string): HostTarget {
  const uri = raw.trim();
  if (uri === 'local') return { driver: 'local', uri };
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) throw invalid('must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalid('must be "local" or a libvirt URI such as qemu:///system or qemu+ssh://root@kvm-01/system');
  }
  const scheme = SCHEME.exec(url.protocol);
  if (!scheme || !LIBVIRT_DRIVERS.has(scheme[1]!)) {
    throw invalid(
      `unknown libvirt driver "${url.protocol.slice(0, -1)}"; one of ${[...LIBVIRT_DRIVERS].join(', ')}`,
    );
  }
  if (scheme[2] !== undefined && !TRANSPORTS.has(scheme[2])) {
    throw invalid(`unknown transport "${scheme[2]}"; one of ${[...TRANSPORTS].join(', ')}`);
  }
  if (url.password) throw invalid("must not carry a password; use ssh keys or libvirt's auth file");
  if (!uri.includes('://')) throw invalid('must have the form driver[+transport]://[host]/path');
  if (url.pathname === '' || url.pathname === '/') throw invalid('needs a path, e.g. /system or /session');
  if (scheme[1] === 'qemu' && !['/system', '/session'].includes(url.pathname)) {
    throw invalid('a qemu URI ends in /system or /session');
  }
  return { driver: 'libvirt', uri };
}
