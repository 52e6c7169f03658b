import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { VmEvents } from '@ferry/contracts';
import { EventFactory, Transactional } from '@ferry/platform';
import { VmOperatorConfig } from '../config/vm-operator.config';
import type { DhcpLease } from '../drivers/network/dnsmasq-leases';
import { isLeaseCurrent, leasesByMac, parseLeases } from '../drivers/network/dnsmasq-leases';
import { HostNetworkDriver } from '../drivers/network/host-network.driver';
import type { LiveNic } from './nics.repository';
import { NicsRepository } from './nics.repository';

/** Leases end without the file changing: look at the NICs again at least this often. */
const RECHECK_MS = 30_000;

/** What a NIC's record should become given the lease of its MAC; undefined for no change. */
export type NicUpdate =
  | { kind: 'address'; ip: string | null; leaseExpiresAt: Date | null }
  | { kind: 'renewed'; leaseExpiresAt: Date | null };

/**
 * The lease of a NIC's MAC counts when it is current and is not the one the MAC held before the VM
 * started (an earlier boot's, or an earlier VM's with that MAC). An address goes away only when its
 * lease has ended: dnsmasq rewrites its file in place, so a lease missing from one read proves nothing.
 */
export function nicUpdate(nic: LiveNic, lease: DhcpLease | undefined, nowMs: number): NicUpdate | undefined {
  if (lease && isLeaseCurrent(lease, nowMs) && lease.expires !== nic.priorLeaseExpiry) {
    const leaseExpiresAt = lease.expires === 0 ? null : new Date(lease.expires * 1000);
    if (lease.ip !== nic.ip) return { kind: 'address', ip: lease.ip, leaseExpiresAt };
    const known = nic.leaseExpiresAt?.getTime() ?? Infinity;
    const now = leaseExpiresAt?.getTime() ?? Infinity;
    return known === now ? undefined : { kind: 'renewed', leaseExpiresAt };
  }
  if (nic.ip !== null && nic.leaseExpiresAt !== null && nic.leaseExpiresAt.getTime() <= nowMs)
    return { kind: 'address', ip: null, leaseExpiresAt: null };
  return undefined;
}

/**
 * Bridge mode: reads dnsmasq's lease file every VM_NETWORK_LEASE_POLL_MS and gives each NIC of a
 * running VM the address of its MAC's lease, with `vm.address-changed` through the outbox. At
 * start-up it adopts the bridge's dnsmasq when VMs with NICs run (their leases must go on being
 * renewed), or starts it again.
 */
@Injectable()
export class LeaseWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LeaseWatcher.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastText?: string;
  private lastCheck = 0;
  private lastError?: string;

  constructor(
    private readonly config: VmOperatorConfig,
    private readonly driver: HostNetworkDriver,
    private readonly nics: NicsRepository,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.driver.mode !== 'bridge') return;
    if ((await this.nics.listLive()).length > 0) {
      try {
        const { dnsmasqPid, adopted } = await this.driver.ensureNetwork();
        this.logger.log({
          msg: adopted ? 'adopted the running dnsmasq' : 'started dnsmasq again',
          bridge: this.driver.bridge,
          pid: dnsmasqPid,
        });
      } catch (err) {
        this.logger.error({ msg: 'VM network is not set up', error: (err as Error).message });
      }
    }
    this.timer = setInterval(() => void this.poll(), this.config.VM_NETWORK_LEASE_POLL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One look at the lease file (skipped while the last one runs); for tests, awaitable. */
  poll(): Promise<void> {
    this.running ??= this.check()
      .catch((err: Error) => {
        if (err.message !== this.lastError)
          this.logger.warn({ msg: 'could not apply DHCP leases', error: err.message });
        this.lastError = err.message;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async check(): Promise<void> {
    const text = await this.driver.readLeases();
    const now = Date.now();
    if (text === this.lastText && now - this.lastCheck < RECHECK_MS) return;
    const leases = leasesByMac(parseLeases(text));
    for (const nic of await this.nics.listLive()) {
      const update = nicUpdate(nic, leases.get(nic.mac), now);
      if (update?.kind === 'renewed') await this.nics.renewLease(nic, nic.ip!, update.leaseExpiresAt);
      if (update?.kind === 'address') await this.change(nic, update.ip, update.leaseExpiresAt);
    }
    this.lastText = text;
    this.lastCheck = now;
    this.lastError = undefined;
  }

  private async change(nic: LiveNic, ip: string | null, leaseExpiresAt: Date | null): Promise<void> {
    const changed = await this.tx.run(async (uow) => {
      // Under the VM's row lock, which a stop takes to clear the addresses: never set after that.
      if (!(await this.nics.lockLiveVm(uow.em, nic.vmId))) return false;
      if (!(await this.nics.setAddress(uow.em, nic, nic.ip, ip, leaseExpiresAt))) return false;
      await uow.emit(
        this.events.create(VmEvents.ADDRESS_CHANGED, nic.vmId, {
          id: nic.vmId,
          mac: nic.mac,
          local_ip: ip,
          previous: nic.ip,
        }),
      );
      return true;
    });
    if (changed)
      this.logger.log({ msg: 'NIC address changed', vmId: nic.vmId, mac: nic.mac, ip, previous: nic.ip });
  }
}
