import { Module } from '@nestjs/common';
import { VmOperatorConfig } from '../config/vm-operator.config';
import { HostNetworkDriver } from '../drivers/network/host-network.driver';
import { LeaseWatcher } from './lease-watcher.service';
import { NicsRepository } from './nics.repository';
import { VmNetwork } from './vm-network.service';

/** VMs' NICs: their records, the host network they plug into (VM_NETWORK_MODE) and their DHCP addresses. */
@Module({
  providers: [
    NicsRepository,
    VmNetwork,
    LeaseWatcher,
    {
      provide: HostNetworkDriver,
      inject: [VmOperatorConfig],
      useFactory: (config: VmOperatorConfig) =>
        new HostNetworkDriver({
          mode: config.VM_NETWORK_MODE,
          bridge: config.VM_NETWORK_BRIDGE,
          cidr: config.VM_NETWORK_CIDR,
          dnsmasqBinary: config.VM_DNSMASQ_BINARY,
          runtimeDir: config.VM_RUNTIME_DIR,
        }),
    },
  ],
  exports: [NicsRepository, VmNetwork],
})
export class NetworkModule {}
