import type { DiscoveryDriver } from '@ferry/contracts';
import type { CapabilityDriver, ProbeOptions } from './driver';
import { LibvirtDriver } from './libvirt/libvirt-driver';
import { LocalDriver } from './local/local-driver';

/** The discovery drivers by name. */
export class Drivers {
  private readonly byName: Record<DiscoveryDriver, CapabilityDriver>;

  constructor(options: ProbeOptions) {
    this.byName = { local: new LocalDriver(options), libvirt: new LibvirtDriver(options) };
  }

  get(name: DiscoveryDriver): CapabilityDriver {
    return this.byName[name];
  }
}
