import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type {
  CapabilityHistoryDto,
  CapabilityHistoryRequest,
  CapabilitySnapshotDto,
  HostDto,
  ListHostsRequest,
  Page,
  RefreshAcceptedDto,
  RegisterHostRequest,
} from '@ferry/contracts';
import { FerryError, HostEvents, decodeCursor, pageLimit } from '@ferry/contracts';
import { EventFactory, Transactional, pageOf } from '@ferry/platform';
import { VersionsRepository } from '../capabilities/versions.repository';
import { CatalogRepository } from '../catalog/catalog.repository';
import { HostCapabilityConfig } from '../config/host-capability.config';
import { Discoverer } from '../discovery/discoverer';
import { parseHostUri } from './host-uri';
import { toHostDto } from './host-view';
import type { HostRecord } from './hosts.repository';
import { HostsRepository } from './hosts.repository';

@Injectable()
export class HostsService {
  private readonly logger = new Logger(HostsService.name);

  constructor(
    private readonly hosts: HostsRepository,
    private readonly versions: VersionsRepository,
    private readonly catalog: CatalogRepository,
    private readonly discoverer: Discoverer,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly config: HostCapabilityConfig,
  ) {}

  /** Records the host and starts its discovery in the background; the reply does not wait for it. */
  async register(req: RegisterHostRequest): Promise<HostDto> {
    const target = parseHostUri(req.uri, { allowTest: this.config.HOST_CAPABILITY_ALLOW_TEST_URIS });
    if (target.driver === 'local') {
      const local = await this.hosts.findLocal();
      if (local) {
        throw FerryError.conflict(`the local host is already registered as "${local.name}"`, {
          id: local.id,
          name: local.name,
        });
      }
    }
    const host = await this.tx.run(async (uow) => {
      const created = await this.hosts.insert(uow.em, {
        id: randomUUID(),
        name: req.name,
        uri: target.uri,
        driver: target.driver,
        isLocal: target.driver === 'local',
      });
      if (created)
        await uow.emit(this.events.create(HostEvents.REGISTERED, created.id, { host: this.view(created) }));
      return created;
    });
    if (!host)
      throw FerryError.conflict(`a host named "${req.name}" is already registered`, { name: req.name });
    this.logger.log({ msg: 'host registered', id: host.id, name: host.name, driver: host.driver });
    await this.discoverer.refresh(host.id);
    return this.get(host.id);
  }

  /** One page of hosts, by name. */
  async list(req: ListHostsRequest): Promise<Page<HostDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['text'])[0];
    const limit = pageLimit(req);
    const rows = await this.hosts.page(limit + 1, after);
    const custom = await this.catalog.customTraits();
    return pageOf(
      rows,
      limit,
      (h) => [h.name],
      (h) => this.view(h, custom),
    );
  }

  async get(id: string): Promise<HostDto> {
    return this.view(await this.require(id), await this.catalog.customTraits());
  }

  async delete(id: string): Promise<{ id: string }> {
    const host = await this.require(id);
    await this.tx.run(async (uow) => {
      if (!(await this.hosts.delete(uow.em, id))) return;
      await this.catalog.forgetHost(uow.em, id);
      await uow.emit(this.events.create(HostEvents.DELETED, id, { host_id: id, name: host.name }));
    });
    return { id };
  }

  async capabilities(id: string, version?: number): Promise<CapabilitySnapshotDto> {
    const host = await this.require(id);
    const snapshot = await this.versions.get(id, version);
    if (snapshot) return snapshot;
    if (version !== undefined) {
      throw FerryError.notFound(`host "${host.name}" has no capability version ${version}`, { id, version });
    }
    throw FerryError.notFound(
      `host "${host.name}" has no capabilities yet (status ${host.status}${host.statusReason ? `: ${host.statusReason}` : ''})`,
      { id, status: host.status },
    );
  }

  /** One page of the host's versions, newest first (the version number is the keyset). */
  async history(req: CapabilityHistoryRequest): Promise<CapabilityHistoryDto> {
    const before = req.cursor === undefined ? undefined : Number(decodeCursor(req.cursor, ['int'])[0]);
    await this.require(req.hostId);
    const limit = pageLimit(req);
    const rows = await this.versions.history(req.hostId, limit + 1, before);
    const page = pageOf(
      rows,
      limit,
      (v) => [String(v.version)],
      (v) => v,
    );
    return { host_id: req.hostId, versions: page.items, next_cursor: page.next_cursor };
  }

  async refresh(id: string): Promise<RefreshAcceptedDto> {
    await this.require(id);
    const started = await this.discoverer.refresh(id);
    return { host_id: id, started, host: await this.get(id) };
  }

  private async require(id: string): Promise<HostRecord> {
    const host = await this.hosts.find(id);
    if (!host) throw FerryError.notFound(`host ${id} not found`, { id });
    return host;
  }

  private view(host: HostRecord, custom: ReadonlyMap<string, readonly string[]> = new Map()): HostDto {
    return toHostDto(host, custom, this.config.HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS);
  }
}
