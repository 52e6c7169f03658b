import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The NICs of each VM (MAC unique across VMs: two guests with one MAC on a bridge take each other's
 * frames and DHCP leases) and the address each one's DHCP lease gives it. `vms.local_ip` is now the
 * first NIC's `ip`; the old column stays, unused, for readers of an older vm-operator.
 */
export class VmNics1732234200000 implements MigrationInterface {
  name = 'VmNics1732234200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE vm_operator.vm_nics (
        vm_id              uuid NOT NULL REFERENCES vm_operator.vms (id) ON DELETE CASCADE,
        idx                smallint NOT NULL CHECK (idx >= 0 AND idx < 8),
        mac                macaddr NOT NULL CONSTRAINT vm_nics_mac_key UNIQUE,
        model              varchar(32) NOT NULL,
        ip                 inet,
        ip_seen_at         timestamptz,
        lease_expires_at   timestamptz,
        prior_lease_expiry bigint,
        PRIMARY KEY (vm_id, idx)
      )`);
    await q.query(
      `COMMENT ON COLUMN vm_operator.vm_nics.ip IS 'address of the current DHCP lease; null while the VM is stopped'`,
    );
    await q.query(
      `COMMENT ON COLUMN vm_operator.vm_nics.prior_lease_expiry IS 'dnsmasq expiry of the lease this MAC had when its VM last started: a lease with it is from an earlier boot'`,
    );
    await q.query(
      `COMMENT ON COLUMN vm_operator.vms.local_ip IS 'unused since vm_nics: local_ip is the first NIC''s ip'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE vm_operator.vm_nics');
    await q.query('COMMENT ON COLUMN vm_operator.vms.local_ip IS NULL');
  }
}
