import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import type { HostCapabilityData, HostStatus } from '@ferry/contracts';
import { HostEvents } from '@ferry/contracts';
import { EventFactory, Transactional, withTimeout } from '@ferry/platform';
import { inventoryOf } from '../capabilities/inventory';
import { traitsOf } from '../capabilities/traits';
import { diffVersions, fingerprint, traitDelta } from '../capabilities/versions';
import { VersionsRepository } from '../capabilities/versions.repository';
import { HostCapabilityConfig } from '../config/host-capability.config';
import type { HostRecord } from '../hosts/hosts.repository';
import { HostsRepository } from '../hosts/hosts.repository';
import { toHostDto } from '../hosts/host-view';
import { parseHostUri } from '../hosts/host-uri';
import { HostUnreachableError } from './driver';
import { Drivers } from './drivers';

type Outcome = { ok: true; data: HostCapabilityData } | { ok: false; status: HostStatus; reason: string };

/**
 * Runs discoveries: when a host is registered, when asked to refresh, and every
 * HOST_CAPABILITY_REFRESH_INTERVAL_MS for each host. A refresh of one host is in flight at most once
 * across every replica: it runs under a claim on the host row (a claim older than the discovery
 * timeout is dead and may be taken over). The result is written under the row lock, and only by the
 * claim's holder: the same facts confirm the latest version, different facts make a new one.
 */
@Injectable()
export class Discoverer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Discoverer.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly hosts: HostsRepository,
    private readonly versions: VersionsRepository,
    private readonly drivers: Drivers,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly config: HostCapabilityConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.HOST_CAPABILITY_REGISTER_LOCAL) await this.registerLocal();
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    const running = [...this.inFlight.keys()];
    const grace = new Promise((resolve) => setTimeout(resolve, this.config.SHUTDOWN_GRACE_MS).unref());
    await Promise.race([Promise.allSettled(this.inFlight.values()), grace]);
    // Whatever did not finish is given back, so another replica need not wait for the claim to go stale.
    await Promise.all(
      running.filter((id) => this.inFlight.has(id)).map((id) => this.hosts.release(id, this.owner)),
    );
  }

  /** Starts a discovery of the host unless one is in flight anywhere; true when this call started it. */
  async refresh(hostId: string): Promise<boolean> {
    const host = await this.hosts.claim(hostId, this.owner, this.config.HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS);
    if (!host) return false;
    this.run(host);
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.closing) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  /** Claims the hosts that are due, as many as there are free slots. */
  private async tick(): Promise<void> {
    try {
      const free = this.config.HOST_CAPABILITY_DISCOVERY_CONCURRENCY - this.inFlight.size;
      const due = await this.hosts.claimDue(
        this.owner,
        this.config.HOST_CAPABILITY_REFRESH_INTERVAL_MS,
        this.config.HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS,
        free,
      );
      for (const host of due) this.run(host);
    } catch (err) {
      this.logger.warn({ msg: 'periodic refresh could not claim hosts', error: (err as Error).message });
    }
    this.schedule(Math.min(this.config.HOST_CAPABILITY_REFRESH_INTERVAL_MS, 5_000));
  }

  private run(host: HostRecord): void {
    const work = this.discover(host)
      .then((outcome) => this.record(host, outcome))
      .catch((err: Error) =>
        this.logger.error({ msg: 'recording a discovery failed', host: host.name, error: err.message }),
      )
      .finally(() => this.inFlight.delete(host.id));
    this.inFlight.set(host.id, work);
  }

  private async discover(host: HostRecord): Promise<Outcome> {
    const started = Date.now();
    const timeoutMs = this.config.HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS;
    try {
      // Recorded before the URI rules were this strict, or written to the table by hand: never to virsh.
      if (host.driver === 'libvirt')
        parseHostUri(host.uri, { allowTest: this.config.HOST_CAPABILITY_ALLOW_TEST_URIS });
      const data = await withTimeout(
        this.drivers.get(host.driver).discover(host.uri),
        timeoutMs,
        () => new HostUnreachableError(`discovery did not finish within ${timeoutMs} ms`),
      );
      this.logger.log({
        msg: 'host discovered',
        host: host.name,
        driver: host.driver,
        ms: Date.now() - started,
      });
      return { ok: true, data };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const status: HostStatus = err instanceof HostUnreachableError ? 'unreachable' : 'error';
      this.logger.warn({ msg: 'host discovery failed', host: host.name, status, reason });
      return { ok: false, status, reason };
    }
  }

  private async record(host: HostRecord, outcome: Outcome): Promise<void> {
    await this.tx.run(async (uow) => {
      const current = await this.hosts.lock(uow.em, host.id);
      // Deleted meanwhile, or the claim went stale and another replica took it over: its result wins.
      if (!current || current.refreshClaimedBy !== this.owner) return;
      let status: HostStatus;
      let reason: string | null;
      let placementChanged: boolean;
      if (outcome.ok) {
        status = 'ready';
        reason = null;
        const inventory = inventoryOf(outcome.data, {
          cpuAllocationRatio: this.config.HOST_CAPABILITY_CPU_ALLOCATION_RATIO,
          ramAllocationRatio: this.config.HOST_CAPABILITY_RAM_ALLOCATION_RATIO,
          diskAllocationRatio: this.config.HOST_CAPABILITY_DISK_ALLOCATION_RATIO,
          reservedMemoryMb: this.config.HOST_CAPABILITY_RESERVED_MEMORY_MB,
        });
        const traits = traitsOf(outcome.data);
        const print = fingerprint(outcome.data, inventory);
        const latest = await this.versions.latest(uow.em, host.id);
        let version = latest?.version ?? 0;
        if (latest?.fingerprint === print) {
          await this.versions.confirm(uow.em, host.id, version);
          placementChanged = false;
        } else {
          version += 1;
          const before = latest ? await this.versions.content(uow.em, host.id, latest.version) : null;
          const changes = diffVersions(before, { data: outcome.data, inventory });
          const delta = traitDelta(latest?.traits ?? [], traits);
          await this.versions.insert(uow.em, {
            hostId: host.id,
            version,
            driver: host.driver,
            fingerprint: print,
            data: outcome.data,
            traits,
            inventory,
            changes,
            traitsAdded: delta.added,
            traitsRemoved: delta.removed,
          });
          await uow.emit(
            this.events.create(HostEvents.CAPABILITIES_CHANGED, host.id, {
              host_id: host.id,
              name: host.name,
              version,
              previous_version: latest?.version ?? null,
              traits_added: delta.added,
              traits_removed: delta.removed,
              changes,
            }),
          );
          placementChanged = true;
        }
        await this.hosts.finish(uow.em, host.id, {
          status,
          statusReason: null,
          latestVersion: version,
          traits,
          inventory,
          discovered: true,
        });
      } else {
        status = outcome.status;
        reason = outcome.reason;
        placementChanged = false;
        await this.hosts.finish(uow.em, host.id, { status, statusReason: reason, discovered: false });
      }
      if (current.status !== status || current.statusReason !== reason) {
        placementChanged = true;
        await uow.emit(
          this.events.create(HostEvents.STATUS_CHANGED, host.id, {
            host_id: host.id,
            name: host.name,
            from: current.status,
            to: status,
            reason,
          }),
        );
      }
      if (placementChanged) await this.hosts.bumpGeneration(uow.em);
    });
  }

  /** The machine this service runs on, as a `local` host (once; a later start finds it). */
  private async registerLocal(): Promise<void> {
    if (await this.hosts.findLocal()) return;
    const name = this.config.HOST_CAPABILITY_LOCAL_HOST_NAME;
    const host = await this.tx.run(async (uow) => {
      const created = await this.hosts.insert(uow.em, {
        id: randomUUID(),
        name,
        uri: 'local',
        driver: 'local',
        isLocal: true,
      });
      if (created)
        await uow.emit(
          this.events.create(HostEvents.REGISTERED, created.id, {
            host: toHostDto(created, new Map(), this.config.HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS),
          }),
        );
      return created;
    });
    if (!host)
      this.logger.warn({ msg: 'the local host is not registered: a host of that name exists', name });
    else this.logger.log({ msg: 'local host registered', name, id: host.id });
  }
}
