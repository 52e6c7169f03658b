import { Injectable } from '@nestjs/common';
import type {
  PlacementPolicySpec,
  PlacementRequest,
  PlacementResultDto,
  PlacementStrategy,
  ResourceAmounts,
  ResourceClassSpec,
  TraitDto,
} from '@ferry/contracts';
import { FerryError, STANDARD_RESOURCES, STANDARD_TRAITS } from '@ferry/contracts';
import { CatalogRepository } from '../catalog/catalog.repository';
import { CatalogService } from '../catalog/catalog.service';
import type { EffectiveRequest, PlacementHost } from './place';
import { place } from './place';
import { PlacementIndex } from './placement-index';

const union = (...lists: (readonly string[] | undefined)[]): string[] => [
  ...new Set(lists.flatMap((l) => l ?? [])),
];

@Injectable()
export class PlacementService {
  constructor(
    private readonly index: PlacementIndex,
    private readonly catalog: CatalogRepository,
    private readonly catalogs: CatalogService,
  ) {}

  /** The hosts that fit, best first, and for every other host why not. */
  async candidates(req: PlacementRequest): Promise<PlacementResultDto> {
    await this.catalogs.checkTraits({ required: req.required, forbidden: req.forbidden });
    const resourceClass = req.resource_class
      ? await this.named<ResourceClassSpec>('resource-class', req.resource_class)
      : undefined;
    const policy = req.policy
      ? await this.named<PlacementPolicySpec>('placement-policy', req.policy)
      : undefined;
    const resources: ResourceAmounts = {};
    for (const r of STANDARD_RESOURCES) {
      const amount = Math.max(req.resources?.[r] ?? 0, resourceClass?.resources[r] ?? 0);
      if (amount > 0) resources[r] = amount;
    }
    const effective: EffectiveRequest = {
      resources,
      required: union(req.required, resourceClass?.traits?.required, policy?.traits?.required).sort(),
      forbidden: union(req.forbidden, resourceClass?.traits?.forbidden, policy?.traits?.forbidden).sort(),
    };
    const conflicting = effective.required.filter((t) => effective.forbidden.includes(t));
    if (conflicting.length > 0) {
      throw FerryError.validation(`trait(s) both required and forbidden: ${conflicting.join(', ')}`, [
        { field: 'required', messages: conflicting.map((t) => `${t} is also forbidden`) },
      ]);
    }
    const strategy: PlacementStrategy = policy?.strategy ?? 'spread';
    const all = await this.index.hosts();
    const hosts = req.hosts ? all.filter((h) => req.hosts!.includes(h.name)) : all;
    const result = place(hosts, effective, strategy, req.limit ?? 100);
    const found = new Set(hosts.map((h) => h.name));
    for (const name of req.hosts ?? []) {
      if (!found.has(name))
        result.rejected.push({
          host_id: null,
          host_name: name,
          reasons: [`HOST_UNKNOWN: ${name} is not registered`],
        });
    }
    return { ...result, strategy, effective };
  }

  /** Every trait, standard and custom, with how many hosts have it now. */
  async traits(): Promise<TraitDto[]> {
    const hosts = await this.index.hosts();
    const custom = await this.catalog.list<{ description?: string }>('hardware-trait');
    const count = (name: string): number => hosts.filter((h: PlacementHost) => h.traits.has(name)).length;
    return [
      ...Object.entries(STANDARD_TRAITS).map(([name, description]) => ({
        name,
        standard: true,
        description,
        hosts: count(name),
      })),
      ...custom.map((c) => ({
        name: c.name,
        standard: false,
        description: c.spec.description ?? '',
        hosts: count(c.name),
      })),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async trait(name: string): Promise<TraitDto> {
    const trait = (await this.traits()).find((t) => t.name === name);
    if (!trait) throw FerryError.notFound(`trait ${name} not found`, { name });
    return trait;
  }

  private async named<S>(kind: 'resource-class' | 'placement-policy', name: string): Promise<S> {
    const row = await this.catalog.get<S>(kind, name);
    if (!row) {
      const label = kind === 'resource-class' ? 'resource class' : 'placement policy';
      throw new FerryError('UNPROCESSABLE', `${label} "${name}" does not exist`, { kind, name });
    }
    return row.spec;
  }
}
