import type { DiscoveryDriver } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';

/**
 * The transports Ferry supports: none (libvirt's local socket), `unix`, `ssh` and `tls`. Not `ext`
 * (it runs the program the URI names), not `tcp` (no encryption, no authentication by default), not
 * `libssh`/`libssh2` (their host-key settings differ from ssh's and are not vetted).
 */
const TRANSPORTS = new Set(['unix', 'ssh', 'tls']);

/**
 * Query parameters a URI may carry, with whom, and the values each may take. Everything else is refused: `command`, `socket`, `netcat` and `proxy` name programs or
 * sockets libvirt would use as they are; `no_verify` and `known_hosts_verify` turn host checks off.
 */
const PARAMETERS: Record<string, { transports: string[]; values: RegExp; hint: string }> = {
  keyfile: { transports: ['ssh'], values: /^\/[\w./@+-]+$/, hint: 'an absolute path' },
  known_hosts: { transports: ['ssh'], values: /^\/[\w./@+-]+$/, hint: 'an absolute path' },
  sshauth: {
    transports: ['ssh'],
    values: /^(agent|privkey|keyboard-interactive)(,(agent|privkey|keyboard-interactive))*$/,
    hint: 'agent, privkey or keyboard-interactive, comma-separated',
  },
  no_tty: { transports: ['ssh'], values: /^1$/, hint: '1' },
  pkipath: { transports: ['tls'], values: /^\/[\w./@+-]+$/, hint: 'an absolute path' },
  mode: {
    transports: ['ssh', 'tls', 'unix', ''],
    values: /^(auto|legacy|direct)$/,
    hint: 'auto, legacy or direct',
  },
};

const SCHEME = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?:$/;

export interface HostTarget {
  driver: DiscoveryDriver;
  uri: string;
}

export interface HostUriOptions {
  /** Accept `test:///default`, libvirt's built-in test driver (demos and tests only). */
  allowTest?: boolean;
}

function invalid(reason: string): FerryError {
  return FerryError.validation(`invalid uri: ${reason}`, [{ field: 'uri', messages: [reason] }]);
}

/**
 * `local`, or a libvirt URI Ferry can drive: `qemu[+unix|+ssh|+tls]://[user@][host][:port]/system`
 * (or `/session`) with only vetted parameters, and `test:///default` where a setting allows it. The
 * string goes to `virsh -c` as it is, so anything libvirt would read as "run this program", "use this
 * socket" or "skip the host check" is a 400 naming the part. Passwords are refused as well: they would
 * be stored and shown with the host; use ssh keys or libvirt's auth file.
 */
export function parseHostUri(raw: string, options: HostUriOptions = {}): HostTarget {
  const uri = raw.trim();
  if (uri === 'local') return { driver: 'local', uri };
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) throw invalid('must not contain spaces or control characters');
  if (options.allowTest && uri === 'test:///default') return { driver: 'libvirt', uri };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalid('must be "local" or a libvirt URI such as qemu:///system or qemu+ssh://root@kvm-01/system');
  }
  const scheme = SCHEME.exec(url.protocol);
  const driver = scheme?.[1];
  if (driver === 'test') {
    throw invalid(
      options.allowTest
        ? 'the test driver is accepted only as test:///default'
        : 'the test driver is for demos and tests (HOST_CAPABILITY_ALLOW_TEST_URIS)',
    );
  }
  if (driver !== 'qemu')
    throw invalid(`unknown libvirt driver "${url.protocol.slice(0, -1)}"; Ferry drives qemu`);
  const transport = scheme?.[2] ?? '';
  if (transport && !TRANSPORTS.has(transport)) {
    throw invalid(`transport "${transport}" is not supported; one of ${[...TRANSPORTS].join(', ')}`);
  }
  if (url.password) throw invalid("must not carry a password; use ssh keys or libvirt's auth file");
  if (!uri.includes('://')) throw invalid('must have the form qemu[+transport]://[host]/system');
  if (url.hash) throw invalid('must not have a fragment');
  if (!['/system', '/session'].includes(url.pathname))
    throw invalid('a qemu URI ends in /system or /session');
  if ((transport === '' || transport === 'unix') && url.host) {
    throw invalid(
      `a ${transport || 'local'} URI names no host; use qemu+ssh:// or qemu+tls:// for a remote one`,
    );
  }
  if ((transport === 'ssh' || transport === 'tls') && !url.hostname)
    throw invalid(`qemu+${transport} needs a host`);
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    const rule = PARAMETERS[name];
    if (!rule || !rule.transports.includes(transport)) {
      throw invalid(`parameter "${name}" is not allowed${transport ? ` with ${transport}` : ''}`);
    }
    if (seen.has(name)) throw invalid(`parameter "${name}" is given twice`);
    seen.add(name);
    if (!rule.values.test(value)) throw invalid(`parameter "${name}" must be ${rule.hint}`);
  }
  return { driver: 'libvirt', uri };
}
