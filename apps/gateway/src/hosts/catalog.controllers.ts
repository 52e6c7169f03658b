import type { Type } from '@nestjs/common';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CatalogItemDto, CatalogKind, TraitDto } from '@ferry/contracts';
import {
  CatalogNameParam,
  FerryError,
  HardwareTraitSpec,
  HostSubjects,
  ListTraitsRequest,
  PageQuery,
  PlacementPolicySpec,
  QosPolicySpec,
  ResourceClassSpec,
  TraitDto as TraitDtoClass,
  TraitNameParam,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireRole } from '../auth/roles';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';

interface CatalogRoute {
  kind: CatalogKind;
  path: string;
  what: string;
  /** The body's fields besides `name` (for the OpenAPI document; host-capability validates it). */
  spec: Type<object>;
}

/** `{name, ...fields}` → the name and the spec; 400 unless the body is a JSON object. */
function split(body: unknown): { name: unknown; spec: Record<string, unknown> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw FerryError.validation('the body must be a JSON object', [
      { field: 'body', messages: ['must be a JSON object'] },
    ]);
  }
  const { name, ...spec } = body as Record<string, unknown>;
  return { name, spec };
}

/**
 * CRUD of one of the seed's configuration models: POST (201), PUT (replace), DELETE and, unless
 * `reads` is false, GET of the list and of one. The body is `{name, ...fields}`; host-capability
 * validates it against the kind's spec, so a bad field is a 400 naming it.
 */
function catalogController(route: CatalogRoute, reads = true): Type<unknown> {
  const { kind, path, what, spec } = route;

  class Writes {
    // Explicit: TypeScript emits no constructor metadata for a class decorated after the fact.
    constructor(@Inject(FerryClient) readonly client: FerryClient) {}

    @Post()
    @Idempotent()
    @RequireRole('admin')
    @HttpCode(201)
    @ApiBody({ type: spec, description: `The ${what}: \`name\` and its fields.` })
    @ApiCreatedResponse({ description: `Created (admins). 409: a ${what} of that name exists.` })
    @ApiErrors(400, 401, 403, 409, 422, 503, 504)
    async create(
      @Body() body: Record<string, unknown>,
      @Res({ passthrough: true }) reply: FastifyReply,
    ): Promise<CatalogItemDto> {
      const { name, spec: fields } = split(body);
      const item = await this.client.send(HostSubjects.CATALOG_PUT, {
        kind,
        name: name as string,
        spec: fields,
        mode: 'create',
      });
      void reply.header('location', `/api/v1/${path}/${encodeURIComponent(item.name)}`);
      return item;
    }

    @Put(':name')
    @RequireRole('admin')
    @ApiBody({ type: spec })
    @ApiOkResponse({ description: `Replaced (admins). 404: no such ${what}.` })
    @ApiErrors(400, 401, 403, 404, 422, 503, 504)
    replace(
      @Param() params: CatalogNameParam,
      @Body() body: Record<string, unknown>,
    ): Promise<CatalogItemDto> {
      return this.client.send(HostSubjects.CATALOG_PUT, {
        kind,
        name: params.name,
        spec: split(body).spec,
        mode: 'replace',
      });
    }

    @Delete(':name')
    @RequireRole('admin')
    @HttpCode(204)
    @ApiNoContentResponse({
      description: `Deleted (admins). 409: a custom trait still used by a resource class or policy.`,
    })
    @ApiErrors(400, 401, 403, 404, 409, 503, 504)
    async delete(@Param() params: CatalogNameParam): Promise<void> {
      await this.client.send(HostSubjects.CATALOG_DELETE, { kind, name: params.name });
    }
  }

  class ReadsAndWrites extends Writes {
    @Get()
    @ApiOkResponse({ description: `Each ${what}, by name. ${PAGED_LIST}`, headers: PAGE_HEADERS })
    @ApiErrors(400, 401, 503, 504)
    async list(
      @Query() query: PageQuery,
      @Req() req: FastifyRequest,
      @Res({ passthrough: true }) reply: FastifyReply,
    ): Promise<CatalogItemDto[]> {
      const page = await this.client.send(HostSubjects.CATALOG_LIST, { kind, ...query });
      return pageItems(req, reply, query, page);
    }

    @Get(':name')
    @ApiOkResponse({ description: `One ${what}.` })
    @ApiErrors(400, 401, 404, 503, 504)
    get(@Param() params: CatalogNameParam): Promise<CatalogItemDto> {
      return this.client.send(HostSubjects.CATALOG_GET, { kind, name: params.name });
    }
  }

  const controller = reads ? ReadsAndWrites : Writes;
  Object.defineProperty(controller, 'name', { value: `${spec.name.replace(/Spec$/, '')}Controller` });
  ApiTags('catalog')(controller);
  Controller(path)(controller);
  return controller;
}

export const ResourceClassesController = catalogController({
  kind: 'resource-class',
  path: 'resource-classes',
  what: 'resource class',
  spec: ResourceClassSpec,
});
export const PlacementPoliciesController = catalogController({
  kind: 'placement-policy',
  path: 'placement-policies',
  what: 'placement policy',
  spec: PlacementPolicySpec,
});
export const QosPoliciesController = catalogController({
  kind: 'qos-policy',
  path: 'qos-policies',
  what: 'QoS policy',
  spec: QosPolicySpec,
});
/** Custom traits (HardwareTrait, `CUSTOM_*`): POST, PUT and DELETE; reads are TraitsController's. */
export const CustomTraitsController = catalogController(
  { kind: 'hardware-trait', path: 'traits', what: 'custom trait', spec: HardwareTraitSpec },
  false,
);

/** Every standard and custom trait, with how many hosts have it now. */
@ApiTags('catalog')
@Controller('traits')
export class TraitsController {
  constructor(private readonly client: FerryClient) {}

  @Get()
  @ApiOkResponse({
    type: [TraitDtoClass],
    description: `Standard traits (os-traits style) and custom ones, by name. ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListTraitsRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TraitDto[]> {
    return pageItems(req, reply, query, await this.client.send(HostSubjects.TRAIT_LIST, query));
  }

  @Get(':name')
  @ApiOkResponse({ type: TraitDtoClass })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: TraitNameParam): Promise<TraitDto> {
    return this.client.send(HostSubjects.TRAIT_GET, params);
  }
}
