import { constants, existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import type { VmNicModel } from '@ferry/contracts';
import { MAX_VM_NICS } from '@ferry/contracts';
import { commandReason, runCommand } from '@ferry/platform';
import type { NicSpec } from '../qemu/qemu-args';
import type { CommandRunner, DnsmasqPaths } from './dnsmasq';
import { DnsmasqServer, dnsmasqArgs, dnsmasqPaths } from './dnsmasq';
import type { BridgeSubnet } from './ipv4';
import { parseBridgeSubnet } from './ipv4';
import type { HostNetworkOptions, NetworkMode } from './network-options';
import { IFNAME_PATTERN, tapName } from './network-options';

const DEFAULT_TIMEOUT_MS = 15_000;

/** What to do about a bridge that cannot be set up, said in every such error. */
const BRIDGE_ADVICE =
  'VM_NETWORK_MODE=bridge needs CAP_NET_ADMIN and /dev/net/tun (docker-compose: cap_add NET_ADMIN and the ' +
  '/dev/net/tun device); or set VM_NETWORK_MODE=user for QEMU user-mode networking (no local_ip), or ' +
  'VM_NETWORK_MODE=none for VMs without a network';

/** A NIC as recorded: what the host's network needs of it. */
export interface NicRecordSpec {
  mac: string;
  model: VmNicModel;
}

/** Thrown when this host cannot give a VM the network its settings and NICs ask for. */
export class NetworkSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkSetupError';
  }
}

/**
 * The host side of VM networking, like libvirt's default network: in `bridge` mode a Linux bridge
 * with the first address of VM_NETWORK_CIDR, a dnsmasq serving DHCP on it alone, and one persistent
 * tap per NIC enslaved to it; in `user` mode nothing on the host (QEMU's slirp); in `none` no NIC.
 * Bridge, taps and dnsmasq outlive vm-operator, like the VMs: each is adopted when found and made
 * when missing, so every call here is idempotent.
 */
export class HostNetworkDriver {
  private readonly logger = new Logger(HostNetworkDriver.name);
  private readonly timeoutMs: number;
  private readonly paths: DnsmasqPaths;
  private subnet?: BridgeSubnet;
  /** One set-up at a time: two VM starts at once must not both create the bridge or start dnsmasq. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: HostNetworkOptions,
    private readonly run: CommandRunner = runCommand,
  ) {
    if (!IFNAME_PATTERN.test(options.bridge))
      throw new Error(`VM_NETWORK_BRIDGE "${options.bridge}" is not an interface name`);
    this.timeoutMs = options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.paths = dnsmasqPaths(options.runtimeDir, options.bridge);
  }

  get mode(): NetworkMode {
    return this.options.mode;
  }

  get bridge(): string {
    return this.options.bridge;
  }

  /** dnsmasq's lease file of the bridge. */
  get leaseFile(): string {
    return this.paths.leaseFile;
  }

  /** dnsmasq's pid file of the bridge. */
  get pidFile(): string {
    return this.paths.pidFile;
  }

  /** The lease file's text; empty when there is none yet. */
  readLeases(): Promise<string> {
    return readFile(this.paths.leaseFile, 'utf8').catch(() => '');
  }

  /**
   * Bridge mode: the bridge exists with its address and is up, and a dnsmasq of ours serves it.
   * Returns dnsmasq's pid. Throws NetworkSetupError naming the setting and what to do.
   */
  ensureNetwork(): Promise<{ dnsmasqPid: number; adopted: boolean }> {
    if (this.options.mode !== 'bridge')
      return Promise.reject(new Error(`no bridge in VM_NETWORK_MODE=${this.options.mode}`));
    return this.serialised(() => this.setUpBridge());
  }

  /**
   * The QEMU NICs of a VM that is about to start, with their host side ready: in bridge mode the
   * network and each NIC's tap (reused when it exists). A VM with NICs under `none` cannot start.
   */
  async prepareNics(vmId: string, nics: NicRecordSpec[]): Promise<NicSpec[]> {
    switch (this.options.mode) {
      case 'none':
        if (nics.length > 0)
          throw new NetworkSetupError(
            `the VM has ${nics.length} NIC(s) but VM_NETWORK_MODE=none gives VMs no network; set VM_NETWORK_MODE=bridge (or user), or create the VM with nics: []`,
          );
        return [];
      case 'user':
        return nics.map((nic) => ({ mac: nic.mac, model: nic.model, backend: { type: 'user' as const } }));
      case 'bridge': {
        if (nics.length === 0) return [];
        await this.ensureNetwork();
        return this.serialised(async () => {
          const specs: NicSpec[] = [];
          for (const [i, nic] of nics.entries()) {
            const ifname = tapName(vmId, i);
            await this.ensureTap(ifname);
            specs.push({ mac: nic.mac, model: nic.model, backend: { type: 'tap', ifname } });
          }
          return specs;
        });
      }
      default: {
        const never: never = this.options.mode;
        throw new Error(`unknown network mode ${String(never)}`);
      }
    }
  }

  /** Removes the taps of a deleted VM (those that exist, whatever the mode is now). */
  async releaseNics(vmId: string): Promise<string[]> {
    const removed: string[] = [];
    for (let i = 0; i < MAX_VM_NICS; i++) {
      const tap = tapName(vmId, i);
      if (!existsSync(`/sys/class/net/${tap}`)) continue;
      await this.ip(['link', 'del', 'dev', tap], `cannot remove tap "${tap}"`);
      removed.push(tap);
    }
    return removed;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async setUpBridge(): Promise<{ dnsmasqPid: number; adopted: boolean }> {
    this.subnet ??= parseBridgeSubnet(this.options.cidr);
    const bridge = this.options.bridge;
    const tun = await access('/dev/net/tun', constants.R_OK | constants.W_OK).then(
      () => undefined,
      (err: Error) => err.message,
    );
    if (tun) throw new NetworkSetupError(`cannot open /dev/net/tun (${tun}). ${BRIDGE_ADVICE}`);
    if (!existsSync(`/sys/class/net/${bridge}`)) {
      await this.ip(
        ['link', 'add', 'name', bridge, 'type', 'bridge'],
        `cannot create bridge "${bridge}"`,
        bridge,
      );
      this.logger.log({ msg: 'bridge created', bridge, cidr: this.subnet.cidr });
    } else if (!existsSync(`/sys/class/net/${bridge}/bridge`)) {
      throw new NetworkSetupError(
        `interface "${bridge}" exists and is not a bridge; set VM_NETWORK_BRIDGE to another name`,
      );
    }
    await this.ip(['addr', 'replace', this.subnet.cidr, 'dev', bridge], `cannot address bridge "${bridge}"`);
    await this.ip(['link', 'set', 'dev', bridge, 'up'], `cannot bring bridge "${bridge}" up`);
    const server = new DnsmasqServer(
      this.options.dnsmasqBinary,
      this.paths,
      dnsmasqArgs(bridge, this.subnet, this.paths),
      this.run,
      this.timeoutMs,
    );
    try {
      const { pid, adopted } = await server.ensure();
      if (!adopted) this.logger.log({ msg: 'dnsmasq started', bridge, pid, leaseFile: this.paths.leaseFile });
      return { dnsmasqPid: pid, adopted };
    } catch (err) {
      throw new NetworkSetupError(
        `DHCP for bridge "${bridge}" (VM_DNSMASQ_BINARY=${this.options.dnsmasqBinary}): ${(err as Error).message}`,
      );
    }
  }

  private async ensureTap(tap: string): Promise<void> {
    const bridge = this.options.bridge;
    if (!existsSync(`/sys/class/net/${tap}`)) {
      await this.ip(['tuntap', 'add', 'dev', tap, 'mode', 'tap'], `cannot create tap "${tap}"`, tap);
    } else if (!existsSync(`/sys/class/net/${tap}/tun_flags`)) {
      throw new NetworkSetupError(
        `interface "${tap}" exists and is not a tap; remove it (ip link del ${tap})`,
      );
    }
    await this.ip(
      ['link', 'set', 'dev', tap, 'master', bridge, 'up'],
      `cannot put tap "${tap}" on bridge "${bridge}"`,
    );
  }

  /**
   * `ip …` with a deadline; a failure names what it was for and what to do. `creates`: the interface
   * it makes, which someone else (another vm-operator on this bridge) may have made meanwhile.
   */
  private async ip(args: string[], what: string, creates?: string): Promise<void> {
    try {
      await this.run('ip', args, this.timeoutMs);
    } catch (err) {
      const reason = commandReason(err);
      if (creates && existsSync(`/sys/class/net/${creates}`)) return;
      throw new NetworkSetupError(`${what} (ip ${args.join(' ')}: ${reason}). ${BRIDGE_ADVICE}`);
    }
  }
}
