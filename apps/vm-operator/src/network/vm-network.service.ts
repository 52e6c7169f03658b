import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { VmNicModel, VmNicRequest } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { leasesByMac, parseLeases } from '../drivers/network/dnsmasq-leases';
import { HostNetworkDriver } from '../drivers/network/host-network.driver';
import type { NicSpec } from '../drivers/qemu/qemu-args';
import { NicsRepository } from './nics.repository';

/** The model every NIC gets: virtio, which Linux guests drive without extra drivers. */
export const DEFAULT_NIC_MODEL: VmNicModel = 'virtio-net-pci';

/** A NIC to record for a new VM; `generated` when vm-operator chose its MAC. */
export interface PlannedNic {
  mac: string;
  model: VmNicModel;
  generated: boolean;
}

/** QEMU's own prefix (52:54:00, locally administered, unicast) and three random bytes, as libvirt makes them. */
export function generateMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** The NICs of VMs under VM_NETWORK_MODE: which a new VM gets, and their host side at each start and delete. */
@Injectable()
export class VmNetwork {
  private readonly logger = new Logger(VmNetwork.name);

  constructor(
    private readonly driver: HostNetworkDriver,
    private readonly nics: NicsRepository,
  ) {}

  /**
   * The NICs a new VM gets: the ones asked for, or one with a generated MAC when none are named
   * (`[]` asks for none). Asking for NICs under `none` is UNPROCESSABLE naming the setting.
   */
  plan(requested: VmNicRequest[] | undefined): PlannedNic[] {
    const mode = this.driver.mode;
    if (requested === undefined)
      return mode === 'none' ? [] : [{ mac: generateMac(), model: DEFAULT_NIC_MODEL, generated: true }];
    if (requested.length > 0 && mode === 'none')
      throw new FerryError(
        'UNPROCESSABLE',
        `VM_NETWORK_MODE=none gives VMs no network: create the VM with "nics": [] (or without nics), or set VM_NETWORK_MODE to bridge or user`,
        { setting: 'VM_NETWORK_MODE', mode, nics: requested.length },
      );
    return requested.map((nic) =>
      nic.mac === undefined
        ? { mac: generateMac(), model: DEFAULT_NIC_MODEL, generated: true }
        : { mac: nic.mac.toLowerCase(), model: DEFAULT_NIC_MODEL, generated: false },
    );
  }

  /**
   * The host side of a VM's NICs before its QEMU starts (bridge, dnsmasq and taps in bridge mode),
   * and the QEMU NICs. Each MAC's lease in dnsmasq's file now is from an earlier boot (or an earlier
   * VM with that MAC): it is recorded so that only a lease this boot's guest asks for counts.
   */
  async prepare(vmId: string): Promise<NicSpec[]> {
    const nics = await this.nics.listForVm(vmId);
    const specs = await this.driver.prepareNics(vmId, nics);
    if (this.driver.mode === 'bridge' && nics.length > 0) {
      const leases = leasesByMac(parseLeases(await this.driver.readLeases()));
      await this.nics.markPriorLeases(
        vmId,
        nics.map((n) => leases.get(n.mac)?.expires ?? null),
      );
    }
    return specs;
  }

  /** A deleted VM's taps go with it (its NIC rows go with its row). */
  async release(vmId: string): Promise<void> {
    const removed = await this.driver.releaseNics(vmId);
    if (removed.length > 0) this.logger.log({ msg: 'taps removed', vmId, taps: removed });
  }
}
