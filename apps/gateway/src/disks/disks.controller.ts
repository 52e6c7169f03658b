import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { DiskDto } from '@ferry/contracts';
import {
  AttachDiskBody,
  CreateDiskRequest,
  DetachDiskBody,
  DiskDto as DiskDtoClass,
  DiskIdRequest,
  DiskSubjects,
  ImportDiskRequest,
  ListDisksRequest,
  VolumeOperationDto,
  attachDiskRequestOf,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { viewFor } from '../auth/role-view';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { expectedGeneration } from './if-match';
import { CredentialSealer } from '../inspector/credential-sealer';

const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description:
    'The disk generation the caller last saw (its ETag); a stale one gets 409 and changes nothing.',
};

/** The image path is the host's business: admins see it, other roles do not (as in events). */
function shown(disk: DiskDto, req: FastifyRequest): DiskDto {
  return viewFor(req.principal?.role, disk);
}

/** Disks (seed 004) and their operations (seed 002), served by volume-daemon. */
@ApiTags('disks')
@Controller('disks')
export class DisksController {
  constructor(
    private readonly client: FerryClient,
    private readonly sealer: CredentialSealer,
  ) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: DiskDtoClass,
    description:
      'Created and available; Location names it. `size` is in GiB; without `name` the disk is named `disk-<first 8 characters of its id>`.',
  })
  @ApiErrors(400, 401, 403, 409, 503, 504)
  async create(
    @Body() body: CreateDiskRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DiskDto> {
    const disk = await this.client.send(DiskSubjects.CREATE, body);
    void reply.header('location', `/api/v1/disks/${disk.id}`).header('etag', `"${disk.generation}"`);
    return shown(disk, req);
  }

  @Post('import')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: VolumeOperationDto,
    description: [
      'Accepted: the import operation (Location), whose new disk is `importing` until its bytes are verified.',
      'Follow `progress` (stages `fetch`, `flatten`, `convert`, `verify` with bytes, rate and ETA) on the operation',
      'or the `ferry.volume-daemon.operation.progress` events; it ends `completed` with the disk `available`',
      '(or `in-use` on `attach_to`, by default the appliance VM for a vSphere disk), or `failed` with the reason and no disk left.',
      'Sources: `vsphere` (one disk of a vCenter VM by device key, read under a snapshot when the VM runs),',
      '`file` (under `VOLUME_IMPORT_DIRS`: VMDK of any subformat and snapshot chains, OVA/OVF, qcow2, raw, VHD, VHDX),',
      '`url` (https). 422 when the source cannot be read or the disk does not fit the free space (both sizes named),',
      '503 when vCenter or the inspector cannot be reached.',
    ].join(' '),
  })
  @ApiErrors(400, 401, 403, 404, 409, 422, 503, 504)
  async import(
    @Body() body: ImportDiskRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VolumeOperationDto> {
    // Opening a vSphere source logs in and takes a snapshot before anything is accepted.
    const op = await this.client.send(DiskSubjects.IMPORT, await this.sealer.seal(body), {
      timeoutMs: 180_000,
    });
    void reply.header('location', `/api/v1/volume-operations/${op.id}`);
    return op;
  }

  @Get()
  @ApiOkResponse({
    type: [DiskDtoClass],
    description: `Disks, oldest first (created_at, then id). ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListDisksRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DiskDto[]> {
    const page = await this.client.send(DiskSubjects.LIST, query);
    return pageItems(req, reply, query, page).map((d) => shown(d, req));
  }

  @Get(':id')
  @ApiOkResponse({ type: DiskDtoClass, description: 'ETag carries the generation.' })
  @ApiErrors(400, 401, 404, 503, 504)
  async get(
    @Param() params: DiskIdRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DiskDto> {
    const disk = await this.client.send(DiskSubjects.GET, { id: params.id });
    void reply.header('etag', `"${disk.generation}"`);
    return shown(disk, req);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse({ description: 'The image file and the record are gone.' })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async delete(@Param() params: DiskIdRequest, @Headers('if-match') ifMatch?: string): Promise<void> {
    await this.client.send(DiskSubjects.DELETE, {
      id: params.id,
      expectedGeneration: expectedGeneration(ifMatch, undefined),
    });
  }

  @Post(':id/attach')
  @Idempotent()
  @HttpCode(202)
  @ApiHeader(IF_MATCH)
  @ApiAcceptedResponse({
    type: VolumeOperationDto,
    description:
      'Accepted; follow the operation (Location). The VM is `vm_id` (seed 004) or `vmId`; one is required, equal if both are given.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async attach(
    @Param() params: DiskIdRequest,
    @Body() body: AttachDiskBody,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<VolumeOperationDto> {
    const op = await this.client.send(
      DiskSubjects.ATTACH,
      attachDiskRequestOf(params.id, body, expectedGeneration(ifMatch, body.expectedGeneration)),
    );
    void reply.header('location', `/api/v1/volume-operations/${op.id}`);
    return op;
  }

  @Post(':id/detach')
  @Idempotent()
  @HttpCode(202)
  @ApiHeader(IF_MATCH)
  @ApiAcceptedResponse({
    type: VolumeOperationDto,
    description: 'Accepted; follow the operation (Location).',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async detach(
    @Param() params: DiskIdRequest,
    @Body() body: DetachDiskBody = {},
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<VolumeOperationDto> {
    const op = await this.client.send(DiskSubjects.DETACH, {
      id: params.id,
      timeoutMs: body?.timeoutMs,
      expectedGeneration: expectedGeneration(ifMatch, body?.expectedGeneration),
    });
    void reply.header('location', `/api/v1/volume-operations/${op.id}`);
    return op;
  }
}
