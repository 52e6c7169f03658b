import { Module } from '@nestjs/common';
import { VersionsRepository } from '../capabilities/versions.repository';
import { CatalogRepository } from '../catalog/catalog.repository';
import { CatalogService } from '../catalog/catalog.service';
import { HostCapabilityConfig } from '../config/host-capability.config';
import { Discoverer } from '../discovery/discoverer';
import { Drivers } from '../discovery/drivers';
import { PlacementIndex } from '../placement/placement-index';
import { PlacementService } from '../placement/placement.service';
import { HostsController } from './hosts.controller';
import { HostsRepository } from './hosts.repository';
import { HostsService } from './hosts.service';

@Module({
  controllers: [HostsController],
  providers: [
    {
      provide: Drivers,
      inject: [HostCapabilityConfig],
      useFactory: (config: HostCapabilityConfig) =>
        new Drivers({
          qemuBinary: config.QEMU_BINARY,
          qemuImg: config.QEMU_IMG_BINARY,
          virsh: config.VIRSH_BINARY,
          timeoutMs: config.HOST_CAPABILITY_PROBE_TIMEOUT_MS,
          diskPath: config.VOLUME_STORAGE_DIR,
        }),
    },
    HostsRepository,
    VersionsRepository,
    CatalogRepository,
    CatalogService,
    Discoverer,
    HostsService,
    PlacementIndex,
    PlacementService,
  ],
})
export class HostsModule {}
