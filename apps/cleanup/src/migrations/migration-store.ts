import { Injectable } from '@nestjs/common';
import type {
  MigrationProgressDto,
  MigrationStageDto,
  MigrationStageName,
  MigrationStatus,
} from '@ferry/contracts';
import { FerryError, MigrationEvents } from '@ferry/contracts';
import type { UnitOfWork } from '@ferry/platform';
import { EventFactory, Transactional } from '@ferry/platform';
import { toMigrationDto } from './migration-dto';
import type { MigrationChange, MigrationRecord } from './migrations.repository';
import { MigrationsRepository } from './migrations.repository';

/** Thrown to a runner that no longer holds its migration: it must stop without writing anything. */
export class MigrationLost extends Error {}

/** The status a migration ends in, and the event that says so. */
const ENDING_EVENTS: Partial<Record<MigrationStatus, string>> = {
  planned: MigrationEvents.COMPLETED,
  completed: MigrationEvents.COMPLETED,
  failed: MigrationEvents.FAILED,
  blocked: MigrationEvents.FAILED,
  canceled: MigrationEvents.CANCELED,
};

/**
 * Every change of a migration goes through here: the row and its events in one transaction (the
 * outbox). A change made for a runner (`owner`) is refused once another replica has claimed it.
 */
@Injectable()
export class MigrationStore {
  constructor(
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly migrations: MigrationsRepository,
  ) {}

  create(m: Omit<MigrationRecord, 'createdAt' | 'updatedAt' | 'finishedAt'>): Promise<MigrationRecord> {
    return this.tx.run(async (uow) => {
      const created = await this.migrations.insert(uow.em, m);
      await uow.emit(
        this.events.create(MigrationEvents.CREATED, created.id, { migration: toMigrationDto(created) }),
      );
      return created;
    });
  }

  /** Changes a migration the caller has locked in `uow`; announces a change of status. */
  async changeLocked(
    uow: UnitOfWork,
    before: MigrationRecord,
    change: MigrationChange,
    reason: string,
  ): Promise<MigrationRecord> {
    const after = await this.migrations.update(uow.em, before.id, change);
    if (before.status !== after.status) await this.announce(uow, before.status, after, reason);
    return after;
  }

  /** Changes a migration held by `owner`. */
  change(id: string, owner: string, change: MigrationChange, reason: string): Promise<MigrationRecord> {
    return this.tx.run(async (uow) =>
      this.changeLocked(uow, await this.held(uow, id, owner), change, reason),
    );
  }

  /** Updates one stage of a migration held by `owner`, with stage-changed; `also` changes the migration too. */
  stage(
    id: string,
    owner: string,
    name: MigrationStageName,
    patch: Partial<MigrationStageDto> | ((s: MigrationStageDto) => Partial<MigrationStageDto>),
    also: MigrationChange = {},
  ): Promise<MigrationRecord> {
    return this.tx.run(async (uow) => {
      const before = await this.held(uow, id, owner);
      const stages = before.stages.map((s) =>
        s.name === name ? { ...s, ...(typeof patch === 'function' ? patch(s) : patch) } : s,
      );
      const after = await this.changeLocked(uow, before, { ...also, stages }, `stage ${name}`);
      const stage = after.stages.find((s) => s.name === name)!;
      await uow.emit(
        this.events.create(MigrationEvents.STAGE_CHANGED, id, { id, status: after.status, stage }),
      );
      return after;
    });
  }

  /** Records and announces a stage's bytes (the caller throttles). */
  progress(
    id: string,
    owner: string,
    name: MigrationStageName,
    progress: MigrationProgressDto,
  ): Promise<void> {
    return this.tx.run(async (uow) => {
      const before = await this.held(uow, id, owner);
      const stages = before.stages.map((s) => (s.name === name ? { ...s, progress } : s));
      await this.migrations.update(uow.em, id, { stages });
      await uow.emit(this.events.create(MigrationEvents.PROGRESS, id, { id, stage: name, progress }));
    });
  }

  private async held(uow: UnitOfWork, id: string, owner: string): Promise<MigrationRecord> {
    const m = await this.migrations.lock(uow.em, id);
    if (!m) throw FerryError.notFound(`migration ${id} does not exist`);
    if (m.claimedBy !== owner)
      throw new MigrationLost(`migration ${id} is now run by ${m.claimedBy ?? 'nobody'}`);
    return m;
  }

  private async announce(
    uow: UnitOfWork,
    from: MigrationStatus,
    m: MigrationRecord,
    reason: string,
  ): Promise<void> {
    const ending = ENDING_EVENTS[m.status];
    if (ending) {
      await uow.emit(
        this.events.create(ending as typeof MigrationEvents.COMPLETED, m.id, {
          migration: toMigrationDto(m),
        }),
      );
      return;
    }
    await uow.emit(
      this.events.create(MigrationEvents.STATUS_CHANGED, m.id, { id: m.id, from, to: m.status, reason }),
    );
  }
}
