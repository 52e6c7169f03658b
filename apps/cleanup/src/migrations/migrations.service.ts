import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type {
  CancelMigrationRequest,
  CreateMigrationRequest,
  ListMigrationsRequest,
  MigrationDto,
  MigrationPlanReplyDto,
  MigrationReportReplyDto,
  MigrationStageDto,
  Page,
} from '@ferry/contracts';
import { FerryError, MIGRATION_STAGES, VM_NAME_PATTERN, decodeCursor, pageLimit } from '@ferry/contracts';
import { Transactional, currentCorrelationId, pageOf } from '@ferry/platform';
import { Peers } from '../saga/peers';
import { MigrationCipher } from './migration-cipher';
import { toMigrationDto } from './migration-dto';
import { MigrationRunner } from './migration-runner';
import { MigrationStore } from './migration-store';
import type { MigrationRecord } from './migrations.repository';
import { MigrationsRepository, isUniqueViolation } from './migrations.repository';
import { buildReport, renderPlanMarkdown, renderReportMarkdown } from './report';
import { SourcePeers } from './source-peers';

const DEFAULT_BOOT_TIMEOUT_S = 300;

/** `Web-01.prod` → `web-01-prod`: a vSphere VM name as a vm-operator VM name. */
export function vmNameOf(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return slug || 'vm';
}

function compiles(field: string, pattern: string | undefined): void {
  if (pattern === undefined) return;
  try {
    new RegExp(pattern);
  } catch (err) {
    throw FerryError.validation(`validate.${field} is not a regular expression`, [
      { field: `validate.${field}`, messages: [(err as Error).message] },
    ]);
  }
}

function stages(): MigrationStageDto[] {
  return MIGRATION_STAGES.map((name) => ({
    name,
    state: 'pending',
    started_at: null,
    finished_at: null,
    attempts: 0,
    progress: null,
    detail: null,
    error: null,
  }));
}

/**
 * Accepts migrations and the requests about them. Everything that can be refused is refused before
 * anything is recorded: bad options (400), an unknown VM (404, from vCenter itself), a VM another
 * migration holds (409 naming it), a template that does not exist (422).
 */
@Injectable()
export class MigrationsService {
  constructor(
    private readonly tx: Transactional,
    private readonly migrations: MigrationsRepository,
    private readonly store: MigrationStore,
    private readonly runner: MigrationRunner,
    private readonly peers: Peers,
    private readonly source: SourcePeers,
    private readonly cipher: MigrationCipher,
  ) {}

  async create(req: CreateMigrationRequest): Promise<MigrationDto> {
    compiles('boot_success', req.validate?.boot_success);
    compiles('boot_failure', req.validate?.boot_failure);
    const credentials = req.source.VcenterCredentials;
    const { facts, concerns } = await this.source.facts(credentials, req.source.vmId);
    const sourceKey = `${new URL(credentials.url).host.toLowerCase()}/${facts.moref}`;
    await this.refuseIfHeld(sourceKey, facts.name);
    const name = req.target?.name ?? vmNameOf(facts.name);
    if (!VM_NAME_PATTERN.test(name))
      throw FerryError.validation('target.name is not a VM name', [
        { field: 'target.name', messages: ['set target.name'] },
      ]);
    if (req.target?.template && !(await this.peers.template(req.target.template)))
      throw new FerryError('UNPROCESSABLE', `template "${req.target.template}" does not exist`, {
        template: req.target.template,
      });
    const taken = req.mode === 'migrate' ? await this.peers.vmByName(name) : undefined;
    if (taken)
      throw FerryError.conflict(`a VM named "${name}" exists already; choose another target.name`, {
        vmId: taken.id,
      });
    const id = randomUUID();
    const { username, password } = credentials;
    const created = await this.store
      .create({
        id,
        status: 'pending',
        mode: req.mode,
        cutover: req.cutover ?? 'manual',
        vcenterUrl: credentials.url,
        vmId: req.source.vmId,
        moref: facts.moref,
        vmName: facts.name,
        sourceKey,
        credentials: this.cipher.encrypt({ username, password }, id),
        credentialsKeyId: this.cipher.keyId,
        target: {
          template: req.target?.template ?? null,
          host: req.target?.host ?? null,
          name,
          format: req.target?.format ?? 'qcow2',
          keepStaticIp: req.target?.keep_static_ip ?? false,
        },
        fixes: req.fixes ?? null,
        validate: {
          bootTimeoutS: req.validate?.boot_timeout_s ?? DEFAULT_BOOT_TIMEOUT_S,
          expectIp: req.validate?.expect_ip ?? null,
          bootSuccess: req.validate?.boot_success ?? '',
          bootFailure: req.validate?.boot_failure ?? '',
        },
        stages: stages(),
        volumes: [],
        facts: { facts, concerns },
        exportId: null,
        inspectionId: null,
        plan: null,
        fixOperationId: null,
        fixResult: null,
        templateName: null,
        failoverJobId: null,
        validation: null,
        productionVmId: null,
        cutoverResult: null,
        cutoverRequestedAt: null,
        sourcePowerBefore: null,
        sourcePoweredOffAt: null,
        error: null,
        keep: false,
        cancelRequested: false,
        requestedBy: req.requested_by ?? null,
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      })
      .catch(async (err: unknown) => {
        if (isUniqueViolation(err)) await this.refuseIfHeld(sourceKey, facts.name);
        throw err;
      });
    this.runner.start(created);
    return toMigrationDto(created);
  }

  /** One page of migrations, newest first. */
  async list(req: ListMigrationsRequest): Promise<Page<MigrationDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.migrations.page(req.status, limit + 1, after);
    return pageOf(rows, limit, (r) => [r.pageAt, r.id], toMigrationDto);
  }

  async get(id: string): Promise<MigrationDto> {
    return toMigrationDto(await this.find(id));
  }

  async plan(id: string): Promise<MigrationPlanReplyDto> {
    const m = await this.find(id);
    if (!m.plan) {
      const stage = m.stages.find((s) => s.name === 'plan')!;
      throw FerryError.notFound(`migration ${id} has no plan yet (its plan stage is ${stage.state})`, { id });
    }
    return { plan: m.plan, markdown: renderPlanMarkdown(m.plan) };
  }

  async report(id: string): Promise<MigrationReportReplyDto> {
    const report = buildReport(await this.find(id));
    return { report, markdown: renderReportMarkdown(report) };
  }

  /** A manual cutover: the migration waits in `awaiting_cutover` until this. */
  async cutover(id: string): Promise<MigrationDto> {
    const m = await this.tx.run(async (uow) => {
      const locked = await this.migrations.lock(uow.em, id);
      if (!locked) throw FerryError.notFound(`migration ${id} does not exist`, { id });
      if (locked.status !== 'awaiting_cutover')
        throw FerryError.conflict(
          `migration ${id} is ${locked.status}: only a validated migration (awaiting_cutover) can be cut over${locked.cutover === 'auto' ? '; it cuts over by itself' : ''}`,
          { id, status: locked.status },
        );
      return this.store.changeLocked(
        uow,
        locked,
        { status: 'running', cutoverRequestedAt: new Date(), claimedBy: this.runner.replicaId },
        'cutover requested',
      );
    });
    this.runner.start(m);
    return toMigrationDto(m);
  }

  /**
   * Cancels: the source is left exactly as it was (no snapshot, powered on again if Ferry powered it
   * off) and Ferry's copies are removed unless `keep`. A running migration stops at once; one that
   * waits (awaiting_cutover) or failed is put back here. A completed one cannot be undone (409).
   */
  async cancel(req: CancelMigrationRequest): Promise<MigrationDto> {
    let start = false;
    const m = await this.tx.run(async (uow) => {
      const locked = await this.migrations.lock(uow.em, req.id);
      if (!locked) throw FerryError.notFound(`migration ${req.id} does not exist`, { id: req.id });
      switch (locked.status) {
        case 'completed':
          throw FerryError.conflict(
            `migration ${req.id} is completed: its VM runs on KVM (${locked.productionVmId}); delete that VM instead`,
            { id: req.id, status: locked.status },
          );
        case 'canceled':
        case 'planned':
        case 'blocked':
          return locked;
        case 'canceling':
        case 'pending':
        case 'running':
        case 'awaiting_cutover':
        case 'failed': {
          const idle =
            locked.status === 'awaiting_cutover' || locked.status === 'failed' || !locked.claimedBy;
          start = idle;
          return this.store.changeLocked(
            uow,
            locked,
            {
              status: 'canceling',
              cancelRequested: true,
              keep: req.keep ?? false,
              ...(idle ? { claimedBy: this.runner.replicaId } : {}),
            },
            'cancel requested',
          );
        }
      }
    });
    if (start) this.runner.start(m);
    return toMigrationDto(m);
  }

  private async find(id: string): Promise<MigrationRecord> {
    const m = await this.migrations.findById(id);
    if (!m) throw FerryError.notFound(`migration ${id} does not exist`, { id });
    return m;
  }

  private async refuseIfHeld(sourceKey: string, vmName: string): Promise<void> {
    const held = await this.migrations.activeFor(sourceKey);
    if (held)
      throw FerryError.conflict(
        `VM "${vmName}" is already being migrated by migration ${held.id} (${held.status})${held.status === 'failed' ? '; delete it (DELETE /api/v1/migrations/' + held.id + ') to remove its copies first' : ''}`,
        { migrationId: held.id, status: held.status },
      );
  }
}
