import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type {
  CapabilityHistoryDto,
  CapabilitySnapshotDto,
  HostDto,
  PlacementResultDto,
  RefreshAcceptedDto,
  SeedHostCapabilityData,
} from '@ferry/contracts';
import {
  CapabilitiesQuery,
  CapabilityHistoryDto as CapabilityHistoryDtoClass,
  CapabilitySnapshotDto as CapabilitySnapshotDtoClass,
  HostDto as HostDtoClass,
  HostIdRequest,
  HostSubjects,
  ListHostsRequest,
  PageQuery,
  PlacementRequest,
  PlacementResultDto as PlacementResultDtoClass,
  RefreshAcceptedDto as RefreshAcceptedDtoClass,
  RegisterHostRequest,
  SeedHostCapabilityData as SeedHostCapabilityDataClass,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireRole } from '../auth/roles';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGED_OBJECT, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';

/** KVM hosts and their discovered capabilities (seed 003), served by host-capability. */
@ApiTags('hosts')
@Controller('hosts')
export class HostsController {
  constructor(private readonly client: FerryClient) {}

  @Post()
  @Idempotent()
  @RequireRole('admin')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: HostDtoClass,
    description:
      'Registered (admins); its discovery runs in the background (`status` pending → discovering → ready, or unreachable with the reason). Location names the host. 400: a bad name or URI, naming the part (`local`, or a libvirt URI qemu[+unix|+ssh|+tls]://[host]/system such as qemu+ssh://root@kvm-01/system, with only the parameters keyfile, known_hosts, sshauth, no_tty, pkipath and mode; no passwords; test:///default where HOST_CAPABILITY_ALLOW_TEST_URIS allows it). 409: the name is taken, or the local host is registered already.',
  })
  @ApiErrors(400, 401, 403, 409, 503, 504)
  async register(
    @Body() body: RegisterHostRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HostDto> {
    const host = await this.client.send(HostSubjects.REGISTER, body);
    void reply.header('location', `/api/v1/hosts/${host.id}`);
    return host;
  }

  @Get()
  @ApiOkResponse({ type: [HostDtoClass], description: `Hosts by name. ${PAGED_LIST}`, headers: PAGE_HEADERS })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListHostsRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HostDto[]> {
    return pageItems(req, reply, query, await this.client.send(HostSubjects.LIST, query));
  }

  @Get(':hostId')
  @ApiOkResponse({ type: HostDtoClass })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: HostIdRequest): Promise<HostDto> {
    return this.client.send(HostSubjects.GET, params);
  }

  @Delete(':hostId')
  @RequireRole('admin')
  @HttpCode(204)
  @ApiNoContentResponse({
    description: 'Unregistered (admins), with its capability history; custom traits forget it.',
  })
  @ApiErrors(400, 401, 403, 404, 503, 504)
  async delete(@Param() params: HostIdRequest): Promise<void> {
    await this.client.send(HostSubjects.DELETE, params);
  }

  @Get(':hostId/capabilities')
  @ApiExtraModels(SeedHostCapabilityDataClass, CapabilitySnapshotDtoClass)
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(SeedHostCapabilityDataClass) },
        { $ref: getSchemaPath(CapabilitySnapshotDtoClass) },
      ],
    },
    description:
      "The latest capabilities, or `?version=N`. By default (`view=seed`) seed 003's HostCapabilityData as Virtumancer's clients read it: `{host_info, cpu_info, memory_info, security_info, storage_info, network_info, virt_info}` with plain values, `null` when unknown (SeedHostCapabilityData). With `?view=facts`, Ferry's richer document (CapabilitySnapshotDto): version, driver, traits, inventory, and every fact as `{value, source, reason?}`, where `value: null` means it could not be discovered and `reason` says why. 404: unknown host, no such version, or not discovered yet.",
  })
  @ApiErrors(400, 401, 404, 503, 504)
  capabilities(
    @Param() params: HostIdRequest,
    @Query() query: CapabilitiesQuery,
  ): Promise<SeedHostCapabilityData | CapabilitySnapshotDto> {
    const req = { hostId: params.hostId, ...(query.version !== undefined ? { version: query.version } : {}) };
    return query.view === 'facts'
      ? this.client.send(HostSubjects.CAPABILITIES_GET, req)
      : this.client.send(HostSubjects.CAPABILITIES_GET_SEED_VIEW, req);
  }

  @Get(':hostId/capabilities/history')
  @ApiOkResponse({
    type: CapabilityHistoryDtoClass,
    description: `The versions, newest first, with the fields and traits that changed against the one before. ${PAGED_OBJECT}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 404, 503, 504)
  async history(
    @Param() params: HostIdRequest,
    @Query() query: PageQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CapabilityHistoryDto> {
    const history = await this.client.send(HostSubjects.CAPABILITIES_HISTORY, {
      ...query,
      hostId: params.hostId,
    });
    pageItems(req, reply, query, { items: history.versions, next_cursor: history.next_cursor });
    return history;
  }

  @Post(':hostId/capabilities/refresh')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: RefreshAcceptedDtoClass,
    description:
      'A discovery starts in the background; `started: false` when one of this host was already in flight (at most one runs per host). Same facts write no new version.',
  })
  @ApiErrors(400, 401, 403, 404, 503, 504)
  refresh(@Param() params: HostIdRequest): Promise<RefreshAcceptedDto> {
    return this.client.send(HostSubjects.CAPABILITIES_REFRESH, params);
  }
}

/** Which hosts can take a VM (seed 003's placement), served by host-capability. */
@ApiTags('placement')
@Controller('placement')
export class PlacementController {
  constructor(private readonly client: FerryClient) {}

  @Post('candidates')
  @Idempotent()
  @RequireRole('viewer')
  @HttpCode(200)
  @ApiOkResponse({
    type: PlacementResultDtoClass,
    description:
      'The hosts that fit, best first under the policy (`spread` by default), and every other host with its reasons: `TRAIT_MISSING: X`, `TRAIT_FORBIDDEN: X`, `INSUFFICIENT: MEMORY_MB (requested R, capacity C)`, `UNKNOWN: DISK_GB (not discovered)`, `HOST_UNREACHABLE: why`, `HOST_ERROR: why`, `NO_CAPABILITIES`, `HOST_UNKNOWN`. 400: a bad or unknown trait name. 422: the resource class or policy does not exist.',
  })
  @ApiErrors(400, 401, 422, 503, 504)
  candidates(@Body() body: PlacementRequest): Promise<PlacementResultDto> {
    return this.client.send(HostSubjects.PLACEMENT_CANDIDATES, body);
  }
}
