import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type {
  CapabilityHistoryDto,
  CapabilitySnapshotDto,
  CatalogItemDto,
  CatalogRequest,
  HostDto,
  HostListDto,
  PlacementResultDto,
  RefreshAcceptedDto,
  Page,
  SeedHostCapabilityData,
  TraitDto,
  TraitListDto,
} from '@ferry/contracts';
import {
  CapabilitiesRequest,
  CapabilityHistoryRequest,
  HostIdRequest,
  HostSubjects,
  ListHostsRequest,
  ListTraitsRequest,
  PlacementRequest,
  RegisterHostRequest,
  TraitNameParam,
} from '@ferry/contracts';
import { pageOfNamed } from '@ferry/platform';
import { toSeedCapabilities } from '../capabilities/seed-view';
import { CatalogService } from '../catalog/catalog.service';
import { PlacementService } from '../placement/placement.service';
import { HostsService } from './hosts.service';

@Controller()
export class HostsController {
  constructor(
    private readonly hosts: HostsService,
    private readonly catalog: CatalogService,
    private readonly placement: PlacementService,
  ) {}

  @MessagePattern(HostSubjects.REGISTER)
  register(@Payload() req: RegisterHostRequest): Promise<HostDto> {
    return this.hosts.register(req);
  }

  @MessagePattern(HostSubjects.LIST)
  list(@Payload() req: ListHostsRequest): Promise<HostListDto> {
    return this.hosts.list(req);
  }

  @MessagePattern(HostSubjects.GET)
  get(@Payload() req: HostIdRequest): Promise<HostDto> {
    return this.hosts.get(req.hostId);
  }

  @MessagePattern(HostSubjects.DELETE)
  delete(@Payload() req: HostIdRequest): Promise<{ id: string }> {
    return this.hosts.delete(req.hostId);
  }

  @MessagePattern(HostSubjects.CAPABILITIES_GET)
  capabilities(@Payload() req: CapabilitiesRequest): Promise<CapabilitySnapshotDto> {
    return this.hosts.capabilities(req.hostId, req.version);
  }

  @MessagePattern(HostSubjects.CAPABILITIES_GET_SEED_VIEW)
  async seedCapabilities(@Payload() req: CapabilitiesRequest): Promise<SeedHostCapabilityData> {
    return toSeedCapabilities((await this.hosts.capabilities(req.hostId, req.version)).data);
  }

  @MessagePattern(HostSubjects.CAPABILITIES_HISTORY)
  history(@Payload() req: CapabilityHistoryRequest): Promise<CapabilityHistoryDto> {
    return this.hosts.history(req);
  }

  @MessagePattern(HostSubjects.CAPABILITIES_REFRESH)
  refresh(@Payload() req: HostIdRequest): Promise<RefreshAcceptedDto> {
    return this.hosts.refresh(req.hostId);
  }

  /** One page of traits, standard and custom, by name (a short list, paged in memory). */
  @MessagePattern(HostSubjects.TRAIT_LIST)
  async traits(@Payload() req: ListTraitsRequest): Promise<TraitListDto> {
    return pageOfNamed(await this.placement.traits(), req, (t) => t.name);
  }

  @MessagePattern(HostSubjects.TRAIT_GET)
  trait(@Payload() req: TraitNameParam): Promise<TraitDto> {
    return this.placement.trait(req.name);
  }

  @MessagePattern(HostSubjects.CATALOG_PUT)
  put(@Payload() req: CatalogRequest): Promise<CatalogItemDto> {
    return this.catalog.put(req);
  }

  @MessagePattern(HostSubjects.CATALOG_LIST)
  catalogList(@Payload() req: CatalogRequest): Promise<Page<CatalogItemDto>> {
    return this.catalog.list(req);
  }

  @MessagePattern(HostSubjects.CATALOG_GET)
  catalogGet(@Payload() req: CatalogRequest): Promise<CatalogItemDto> {
    return this.catalog.get(req);
  }

  @MessagePattern(HostSubjects.CATALOG_DELETE)
  catalogDelete(@Payload() req: CatalogRequest): Promise<{ name: string }> {
    return this.catalog.delete(req);
  }

  @MessagePattern(HostSubjects.PLACEMENT_CANDIDATES)
  candidates(@Payload() req: PlacementRequest): Promise<PlacementResultDto> {
    return this.placement.candidates(req);
  }
}
