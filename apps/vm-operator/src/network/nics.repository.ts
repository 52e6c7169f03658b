import { Injectable } from '@nestjs/common';
import type { VmNicModel } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager } from 'typeorm';

/** A NIC of a running (or starting) VM, with what the lease watcher compares a lease with. */
export interface LiveNic {
  vmId: string;
  index: number;
  mac: string;
  ip: string | null;
  /** When the lease that gave `ip` ends; null without one. */
  leaseExpiresAt: Date | null;
  /** dnsmasq's expiry of the lease this MAC held when the VM last started (see VmNics1732234200000). */
  priorLeaseExpiry: number | null;
}

export interface NicRow {
  index: number;
  mac: string;
  model: VmNicModel;
}

/** `23505` on the MAC's unique key: another VM has it. */
function macTaken(err: unknown): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const driverError = err.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && driverError.constraint === 'vm_nics_mac_key';
}

function conflictOn(macs: string[]): FerryError {
  return FerryError.conflict(`MAC ${macs.join(', ')} is already used by another VM`, { macs });
}

/**
 * The only code that writes `vm_operator.vm_nics` (VmsRepository reads a VM's NICs with the VM; a
 * VM's delete takes its NICs with it, ON DELETE CASCADE).
 */
@Injectable()
export class NicsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Which of `macs` a VM already has. */
  async macsInUse(macs: string[], em?: EntityManager): Promise<string[]> {
    if (macs.length === 0) return [];
    const rows: { mac: string }[] = await (em ?? this.ds).query(
      'SELECT mac::text AS mac FROM vm_operator.vm_nics WHERE mac = ANY($1::macaddr[]) ORDER BY mac',
      [macs],
    );
    return rows.map((r) => r.mac);
  }

  /** Records a new VM's NICs in order; CONFLICT naming the MACs another VM has. */
  async insert(em: EntityManager, vmId: string, nics: { mac: string; model: VmNicModel }[]): Promise<void> {
    if (nics.length === 0) return;
    const taken = await this.macsInUse(
      nics.map((n) => n.mac),
      em,
    );
    if (taken.length > 0) throw conflictOn(taken);
    try {
      await em.query(
        `INSERT INTO vm_operator.vm_nics (vm_id, idx, mac, model)
         SELECT $1, i - 1, mac, model FROM unnest($2::macaddr[], $3::varchar[]) WITH ORDINALITY AS n (mac, model, i)`,
        [vmId, nics.map((n) => n.mac), nics.map((n) => n.model)],
      );
    } catch (err) {
      // Another create took one of them between the look and the insert.
      if (macTaken(err)) throw conflictOn(nics.map((n) => n.mac));
      throw err;
    }
  }

  async listForVm(vmId: string, em?: EntityManager): Promise<NicRow[]> {
    const rows: { idx: number; mac: string; model: VmNicModel }[] = await (em ?? this.ds).query(
      'SELECT idx, mac::text AS mac, model FROM vm_operator.vm_nics WHERE vm_id = $1 ORDER BY idx',
      [vmId],
    );
    return rows.map((r) => ({ index: r.idx, mac: r.mac, model: r.model }));
  }

  /** NICs of the VMs whose QEMU runs (or is starting): the ones a lease can be theirs. */
  async listLive(): Promise<LiveNic[]> {
    const rows: {
      vm_id: string;
      idx: number;
      mac: string;
      ip: string | null;
      lease_expires_at: Date | null;
      prior_lease_expiry: string | null;
    }[] = await this.ds.query(
      `SELECT n.vm_id, n.idx, n.mac::text AS mac, host(n.ip) AS ip, n.lease_expires_at, n.prior_lease_expiry
         FROM vm_operator.vm_nics n JOIN vm_operator.vms v ON v.id = n.vm_id
        WHERE v.state IN ('starting', 'running')
        ORDER BY n.vm_id, n.idx`,
    );
    return rows.map((r) => ({
      vmId: r.vm_id,
      index: r.idx,
      mac: r.mac,
      ip: r.ip,
      leaseExpiresAt: r.lease_expires_at,
      // bigint arrives as a string.
      priorLeaseExpiry: r.prior_lease_expiry === null ? null : Number(r.prior_lease_expiry),
    }));
  }

  /** Before a start: the lease each NIC's MAC holds now is an earlier boot's (null: none). */
  async markPriorLeases(vmId: string, priorByIndex: (number | null)[]): Promise<void> {
    if (priorByIndex.length === 0) return;
    await this.ds.query(
      `UPDATE vm_operator.vm_nics n SET prior_lease_expiry = p.expiry
         FROM unnest($2::bigint[]) WITH ORDINALITY AS p (expiry, i)
        WHERE n.vm_id = $1 AND n.idx = p.i - 1`,
      [vmId, priorByIndex],
    );
  }

  /**
   * Locks the VM's row (shared) if its QEMU runs or is starting; false otherwise. A stop holds the
   * row's update lock while it clears the addresses, so an address is never set after that.
   */
  async lockLiveVm(em: EntityManager, vmId: string): Promise<boolean> {
    const rows: unknown[] = await em.query(
      `SELECT 1 FROM vm_operator.vms WHERE id = $1 AND state IN ('starting', 'running') FOR SHARE`,
      [vmId],
    );
    return rows.length > 0;
  }

  /**
   * Sets a NIC's address if it is still `previous` (compare-and-set against a concurrent clear);
   * `leaseExpiresAt` null with an address means an infinite lease. True when it changed.
   */
  async setAddress(
    em: EntityManager,
    nic: { vmId: string; index: number },
    previous: string | null,
    ip: string | null,
    leaseExpiresAt: Date | null,
  ): Promise<boolean> {
    const [rows] = (await em.query(
      `UPDATE vm_operator.vm_nics
          SET ip = $4::inet,
              ip_seen_at = CASE WHEN $4::inet IS NULL THEN NULL ELSE now() END,
              lease_expires_at = CASE WHEN $4::inet IS NULL THEN NULL ELSE coalesce($5::timestamptz, 'infinity') END
        WHERE vm_id = $1 AND idx = $2 AND host(ip) IS NOT DISTINCT FROM $3
        RETURNING idx`,
      [nic.vmId, nic.index, previous, ip, leaseExpiresAt],
    )) as [unknown[], number];
    return rows.length > 0;
  }

  /** A renewed lease of the same address: only its end moves. */
  async renewLease(
    nic: { vmId: string; index: number },
    ip: string,
    leaseExpiresAt: Date | null,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE vm_operator.vm_nics SET lease_expires_at = coalesce($4::timestamptz, 'infinity')
        WHERE vm_id = $1 AND idx = $2 AND host(ip) = $3`,
      [nic.vmId, nic.index, ip, leaseExpiresAt],
    );
  }

  /** A stopped VM has no address: clears every NIC's, returning those that had one. */
  async clearAddresses(em: EntityManager, vmId: string): Promise<{ mac: string; previous: string }[]> {
    const [rows] = (await em.query(
      `UPDATE vm_operator.vm_nics n SET ip = NULL, ip_seen_at = NULL, lease_expires_at = NULL
         FROM (SELECT idx, host(ip) AS ip FROM vm_operator.vm_nics
                WHERE vm_id = $1 AND ip IS NOT NULL FOR UPDATE) old
        WHERE n.vm_id = $1 AND n.idx = old.idx
        RETURNING n.mac::text AS mac, old.ip AS previous`,
      [vmId],
    )) as [{ mac: string; previous: string }[], number];
    return rows;
  }
}
