import { Injectable } from '@nestjs/common';
import type { VmNicDto, VmState } from '@ferry/contracts';
import { FerryError, isUuid } from '@ferry/contracts';
import { keysetSql, keysetTime } from '@ferry/platform';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { VmRecord } from './entities/vm.entity';

/** A VM's NICs come with it, in order, in the same statement (also in RETURNING, so events see them). */
const COLUMNS = `id, name, template, state, pid, accelerator, last_error, created_at, updated_at,
  (SELECT coalesce(json_agg(json_build_object('mac', n.mac::text, 'model', n.model, 'ip', host(n.ip)) ORDER BY n.idx), '[]'::json)
     FROM vm_operator.vm_nics n WHERE n.vm_id = vms.id) AS nics`;

interface VmRow {
  id: string;
  name: string;
  template: string;
  state: VmState;
  nics: VmNicDto[];
  pid: number | null;
  accelerator: 'kvm' | 'tcg' | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

function fromRow(r: VmRow): VmRecord {
  return {
    id: r.id,
    name: r.name,
    template: r.template,
    state: r.state,
    // `local_ip` is the first NIC's address (the vms.local_ip column is no longer written).
    localIp: r.nics[0]?.ip ?? null,
    nics: r.nics,
    pid: r.pid,
    accelerator: r.accelerator,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface VmRuntimeFields {
  pid?: number | null;
  accelerator?: 'kvm' | 'tcg' | null;
  lastError?: string | null;
}

/** The only code that touches `vm_operator.vms`. State changes are compare-and-set on the state. */
@Injectable()
export class VmsRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(em: EntityManager, vm: { id: string; name: string; template: string }): Promise<VmRecord> {
    try {
      const rows: VmRow[] = await em.query(
        `INSERT INTO vm_operator.vms (id, name, template, state) VALUES ($1, $2, $3, 'stopped') RETURNING ${COLUMNS}`,
        [vm.id, vm.name, vm.template],
      );
      return fromRow(rows[0]!);
    } catch (err) {
      const code = err instanceof QueryFailedError ? (err.driverError as { code?: string }).code : undefined;
      if (code === '23505')
        throw FerryError.conflict(`a VM named "${vm.name}" already exists`, { name: vm.name });
      if (code === '23503')
        throw FerryError.notFound(`template "${vm.template}" not found`, { template: vm.template });
      throw err;
    }
  }

  /** With an EntityManager the row is locked until its transaction ends. An id that is not a UUID names no VM. */
  async findById(id: string, em?: EntityManager): Promise<VmRecord | null> {
    if (!isUuid(id)) return null;
    const lock = em ? ' FOR UPDATE' : '';
    const rows: VmRow[] = await (em ?? this.ds).query(
      `SELECT ${COLUMNS} FROM vm_operator.vms WHERE id = $1${lock}`,
      [id],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * One keyset page in (created_at, id) order: up to `take` VMs after `after` (a cursor's
   * [created_at, id]), each with `pageAt`, its created_at with microseconds, for the next cursor.
   */
  async page(
    state: VmState | undefined,
    take: number,
    after: string[] | undefined,
  ): Promise<Array<VmRecord & { pageAt: string }>> {
    const keyset = keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 2);
    const rows: Array<VmRow & { page_at: string }> = await this.ds.query(
      `SELECT ${COLUMNS}, ${keysetTime('created_at')} AS page_at FROM vm_operator.vms
        WHERE ($1::text IS NULL OR state = $1) AND ${keyset.after}
        ORDER BY ${keyset.orderBy} LIMIT $4`,
      [state ?? null, after?.[0] ?? null, after?.[1] ?? null, take],
    );
    return rows.map((r) => ({ ...fromRow(r), pageAt: r.page_at }));
  }

  async list(state?: VmState): Promise<VmRecord[]> {
    const rows: VmRow[] = state
      ? await this.ds.query(
          `SELECT ${COLUMNS} FROM vm_operator.vms WHERE state = $1 ORDER BY created_at, id`,
          [state],
        )
      : await this.ds.query(`SELECT ${COLUMNS} FROM vm_operator.vms ORDER BY created_at, id`);
    return rows.map(fromRow);
  }

  /**
   * Moves the VM to `to` only if it is in one of `from`; returns the updated VM, or null when the VM is
   * missing or in another state. Atomic, so two replicas cannot both start the same VM.
   */
  async transition(
    em: EntityManager,
    id: string,
    from: readonly VmState[],
    to: VmState,
    fields: VmRuntimeFields = {},
  ): Promise<VmRecord | null> {
    // TypeORM answers an UPDATE with [rows, affected], not with rows.
    const [rows] = (await em.query(
      `UPDATE vm_operator.vms
          SET state = $3,
              pid = CASE WHEN $4 THEN $5::integer ELSE pid END,
              accelerator = CASE WHEN $6 THEN $7::varchar ELSE accelerator END,
              last_error = CASE WHEN $8 THEN $9::text ELSE last_error END,
              updated_at = now()
        WHERE id = $1 AND state = ANY($2::varchar[])
        RETURNING ${COLUMNS}`,
      [
        id,
        from,
        to,
        'pid' in fields,
        fields.pid ?? null,
        'accelerator' in fields,
        fields.accelerator ?? null,
        'lastError' in fields,
        fields.lastError ?? null,
      ],
    )) as [VmRow[], number];
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(em: EntityManager, id: string): Promise<void> {
    await em.query('DELETE FROM vm_operator.vms WHERE id = $1', [id]);
  }
}
