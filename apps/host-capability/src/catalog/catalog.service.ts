import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { CatalogItemDto, CatalogKind, CatalogRequest, Page, TraitConstraints } from '@ferry/contracts';
import {
  CATALOG_KINDS,
  CATALOG_NAME_PATTERNS,
  CATALOG_SPECS,
  FerryError,
  HostEvents,
  STANDARD_TRAITS,
  decodeCursor,
  pageLimit,
} from '@ferry/contracts';
import { EventFactory, Transactional, pageOf, validationError } from '@ferry/platform';
import { HostsRepository } from '../hosts/hosts.repository';
import { CatalogRepository, toItem } from './catalog.repository';

const LABELS: Readonly<Record<CatalogKind, string>> = {
  'resource-class': 'resource class',
  'hardware-trait': 'custom trait',
  'placement-policy': 'placement policy',
  'qos-policy': 'QoS policy',
};

/** CRUD of the seed's ResourceClass, HardwareTrait (custom traits), PlacementPolicy and QOSPolicy. */
@Injectable()
export class CatalogService {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly hosts: HostsRepository,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
  ) {}

  /** One page of a kind's items, by name. */
  async list(req: CatalogRequest): Promise<Page<CatalogItemDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['text'])[0];
    const limit = pageLimit(req);
    const rows = await this.catalog.page(this.kindOf(req), limit + 1, after);
    return pageOf(rows, limit, (r) => [r.name], toItem);
  }

  async get(req: CatalogRequest): Promise<CatalogItemDto> {
    const kind = this.kindOf(req);
    const row = await this.catalog.get(kind, this.nameOf(kind, req));
    if (!row) throw FerryError.notFound(`${LABELS[kind]} "${req.name}" not found`, { kind, name: req.name });
    return toItem(row);
  }

  async put(req: CatalogRequest): Promise<CatalogItemDto> {
    const kind = this.kindOf(req);
    const name = this.nameOf(kind, req);
    const spec = await this.validSpec(kind, req.spec);
    if (kind === 'hardware-trait' && STANDARD_TRAITS[name]) {
      throw FerryError.validation(`"${name}" is a standard trait`, [
        { field: 'name', messages: ['custom traits start with CUSTOM_'] },
      ]);
    }
    await this.checkReferences(kind, spec);
    const create = req.mode !== 'replace';
    const row = await this.tx.run(async (uow) => {
      const saved = create
        ? await this.catalog.create(uow.em, kind, name, spec)
        : await this.catalog.replace(uow.em, kind, name, spec);
      if (!saved) return undefined;
      if (kind === 'hardware-trait') await this.hosts.bumpGeneration(uow.em);
      await uow.emit(
        this.events.create(HostEvents.CATALOG_CHANGED, `${kind}/${name}`, {
          kind,
          name,
          action: create ? 'created' : 'replaced',
        }),
      );
      return saved;
    });
    if (!row && create) throw FerryError.conflict(`${LABELS[kind]} "${name}" already exists`, { kind, name });
    if (!row) throw FerryError.notFound(`${LABELS[kind]} "${name}" not found`, { kind, name });
    return toItem(row);
  }

  async delete(req: CatalogRequest): Promise<{ name: string }> {
    const kind = this.kindOf(req);
    const name = this.nameOf(kind, req);
    if (kind === 'hardware-trait') {
      const users = await this.catalog.usersOfTrait(name);
      if (users.length > 0) {
        throw FerryError.conflict(`custom trait ${name} is used by ${users.join(', ')}; change those first`, {
          name,
          users,
        });
      }
    }
    const deleted = await this.tx.run(async (uow) => {
      if (!(await this.catalog.delete(uow.em, kind, name))) return false;
      if (kind === 'hardware-trait') await this.hosts.bumpGeneration(uow.em);
      await uow.emit(
        this.events.create(HostEvents.CATALOG_CHANGED, `${kind}/${name}`, { kind, name, action: 'deleted' }),
      );
      return true;
    });
    if (!deleted) throw FerryError.notFound(`${LABELS[kind]} "${name}" not found`, { kind, name });
    return { name };
  }

  /** Every trait name a request may use: the standard ones and the custom ones defined. */
  async knownTraits(): Promise<Set<string>> {
    return new Set([...Object.keys(STANDARD_TRAITS), ...(await this.catalog.customTraits()).keys()]);
  }

  /** 400 naming each trait in `fields` that is neither standard nor defined. */
  async checkTraits(fields: Record<string, readonly string[] | undefined>): Promise<void> {
    const known = await this.knownTraits();
    const bad = Object.entries(fields)
      .map(([field, traits]) => ({ field, unknown: (traits ?? []).filter((t) => !known.has(t)) }))
      .filter((f) => f.unknown.length > 0);
    if (bad.length > 0) {
      throw FerryError.validation(
        `unknown trait(s): ${bad.flatMap((b) => b.unknown).join(', ')}; see GET /traits`,
        bad.map((b) => ({ field: b.field, messages: b.unknown.map((t) => `unknown trait ${t}`) })),
      );
    }
  }

  private kindOf(req: CatalogRequest): CatalogKind {
    if (!CATALOG_KINDS.includes(req.kind)) {
      throw FerryError.validation('unknown catalog kind', [
        { field: 'kind', messages: [`one of ${CATALOG_KINDS.join(', ')}`] },
      ]);
    }
    return req.kind;
  }

  private nameOf(kind: CatalogKind, req: CatalogRequest): string {
    if (typeof req.name !== 'string' || !CATALOG_NAME_PATTERNS[kind].test(req.name)) {
      throw FerryError.validation(`invalid ${LABELS[kind]} name`, [
        { field: 'name', messages: [`must match ${CATALOG_NAME_PATTERNS[kind].source}`] },
      ]);
    }
    return req.name;
  }

  private async validSpec(kind: CatalogKind, spec: unknown): Promise<Record<string, unknown>> {
    const cls: new () => object = CATALOG_SPECS[kind];
    const instance = plainToInstance(cls, spec ?? {});
    const errors = await validate(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
    });
    if (errors.length > 0) throw validationError(errors);
    return JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  }

  private async checkReferences(kind: CatalogKind, spec: Record<string, unknown>): Promise<void> {
    const traits = spec['traits'] as TraitConstraints | undefined;
    if (traits)
      await this.checkTraits({ 'traits.required': traits.required, 'traits.forbidden': traits.forbidden });
    const hostIds = spec['host_ids'] as string[] | undefined;
    if (kind === 'hardware-trait' && hostIds && hostIds.length > 0) {
      const found = await this.hosts.existing(hostIds);
      const missing = hostIds.filter((id) => !found.has(id));
      if (missing.length > 0) {
        throw new FerryError('UNPROCESSABLE', `unknown host id(s): ${missing.join(', ')}`, {
          host_ids: missing,
        });
      }
    }
  }
}
