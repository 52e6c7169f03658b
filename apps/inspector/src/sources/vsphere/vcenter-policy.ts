import * as dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { SourceFatalError } from '../source';
import type { VcenterAllowlist } from './vcenter-allowlist';
import { addressesAllowed, matchHost, parseAllowlist } from './vcenter-allowlist';

/** Every address of a host name, as the connection would find them (dns.lookup, so /etc/hosts too). */
export type ResolveAll = (host: string) => Promise<string[]>;

const resolveAll: ResolveAll = async (host) =>
  (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Which vCenters the inspector talks to (INSPECTOR_VCENTER_ALLOWLIST, INSPECTOR_VCENTER_ALLOW_HTTP),
 * checked before any connection. A host name is allowed when a host entry names it exactly, or when
 * every address it resolves to is inside a CIDR (or is an address) of the list; the connection then
 * resolves through `lookup`, which checks the same, so a name cannot resolve elsewhere in between.
 */
export class VcenterPolicy {
  private readonly allowlist: VcenterAllowlist | null;
  private readonly allowHttp: boolean;

  /** `allowlist` empty: any vCenter (throws on a bad list: InspectorConfig has checked it). */
  constructor(
    settings: { allowlist: string; allowHttp: boolean },
    private readonly resolve: ResolveAll = resolveAll,
  ) {
    this.allowlist = settings.allowlist.trim() ? parseAllowlist(settings.allowlist) : null;
    this.allowHttp = settings.allowHttp;
  }

  /** Throws SourceFatalError('refused') when the settings refuse this vCenter URL (an SDK URL). */
  async check(url: URL): Promise<void> {
    if (url.protocol === 'http:' && !this.allowHttp) {
      throw refused(
        'http:// vCenter URLs are refused: use https:// (or set INSPECTOR_VCENTER_ALLOW_HTTP=true)',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw refused('a vCenter URL is https://');
    }
    const list = this.allowlist;
    if (!list) return;
    const verdict = matchHost(list, url.hostname);
    if (verdict === 'allowed') return;
    if (verdict === 'resolve') {
      // A name that does not resolve is refused the same way: the answer tells nothing about DNS.
      const addresses = await this.resolve(url.hostname).catch(() => []);
      if (addressesAllowed(list, addresses)) return;
    }
    throw refused(`vCenter ${url.hostname} is not in INSPECTOR_VCENTER_ALLOWLIST`);
  }

  /**
   * dns.lookup for the SOAP connection that refuses (with code EVCENTERNOTALLOWED) a name resolving
   * outside the list; undefined without a list. IP literals never get here: Node connects to them.
   */
  get lookup(): LookupFunction | undefined {
    const list = this.allowlist;
    if (!list) return undefined;
    return (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', undefined);
        const named = matchHost(list, hostname) === 'allowed';
        if (
          !named &&
          !addressesAllowed(
            list,
            addresses.map((a) => a.address),
          )
        ) {
          const outside = Object.assign(
            new Error(`${hostname} resolves outside INSPECTOR_VCENTER_ALLOWLIST`),
            { code: 'EVCENTERNOTALLOWED' },
          );
          return callback(outside, '', undefined);
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
  }
}

function refused(message: string): SourceFatalError {
  return new SourceFatalError('refused', message);
}
