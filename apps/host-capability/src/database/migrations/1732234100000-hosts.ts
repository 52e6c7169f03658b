import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Hosts, their versioned capabilities, the seed's configuration models, and placement's generation. */
export class HostCapabilityHosts1732234100000 implements MigrationInterface {
  name = 'HostCapabilityHosts1732234100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE host_capability.hosts (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        uri text NOT NULL,
        driver text NOT NULL CHECK (driver IN ('local', 'libvirt')),
        status text NOT NULL CHECK (status IN ('pending', 'discovering', 'ready', 'unreachable', 'error')),
        status_reason text,
        is_local boolean NOT NULL DEFAULT false,
        latest_version integer,
        traits text[] NOT NULL DEFAULT '{}',
        inventory jsonb NOT NULL DEFAULT '{}',
        last_discovered_at timestamptz,
        last_attempt_at timestamptz,
        refresh_claimed_by text,
        refresh_claimed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One local host: "local" means the machine the service runs on.
    await q.query(`CREATE UNIQUE INDEX hosts_one_local ON host_capability.hosts (is_local) WHERE is_local`);
    await q.query(`
      CREATE TABLE host_capability.capability_versions (
        host_id uuid NOT NULL REFERENCES host_capability.hosts (id) ON DELETE CASCADE,
        version integer NOT NULL,
        driver text NOT NULL,
        fingerprint text NOT NULL,
        data jsonb NOT NULL,
        traits text[] NOT NULL,
        inventory jsonb NOT NULL,
        changes jsonb NOT NULL,
        traits_added text[] NOT NULL,
        traits_removed text[] NOT NULL,
        discovered_at timestamptz NOT NULL,
        confirmed_at timestamptz NOT NULL,
        PRIMARY KEY (host_id, version)
      )`);
    await q.query(`
      CREATE TABLE host_capability.catalog (
        kind text NOT NULL CHECK (kind IN ('resource-class', 'hardware-trait', 'placement-policy', 'qos-policy')),
        name text NOT NULL,
        spec jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name)
      )`);
    // Bumped in the same transaction as any change placement sees (host traits, inventory, status,
    // custom traits), so every replica can cache its placement view and check it with one tiny read.
    await q.query(`
      CREATE TABLE host_capability.placement_generation (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        value bigint NOT NULL
      )`);
    await q.query(`INSERT INTO host_capability.placement_generation (value) VALUES (0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE host_capability.placement_generation`);
    await q.query(`DROP TABLE host_capability.catalog`);
    await q.query(`DROP TABLE host_capability.capability_versions`);
    await q.query(`DROP TABLE host_capability.hosts`);
  }
}
