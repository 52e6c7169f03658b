import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskDto, MigrationDto, ServiceName, VmDto } from '@ferry/contracts';
import { FSTAB_OK_MARKER, VcsimProbe, VcsimProcess, vmPowerState } from '@ferry/testing';
import type { MigrationSource } from '../support/migrations';
import {
  TINY_GUEST_VALIDATE,
  credentialsOf,
  localHostReady,
  migrationSource,
  waitForMigration,
} from '../support/migrations';
import { Suite } from '../support/suite';

/** The stage boundaries, in order: after each, every service the migration uses is killed with -9. */
const BOUNDARIES = ['fetch', 'flatten', 'inspect', 'plan', 'fix', 'convert', 'validate'] as const;
/** The services that hold a part of a migration, killed together at each boundary. */
const KILLED: ServiceName[] = ['cleanup', 'volume-daemon', 'inspector', 'vm-operator'];

/**
 * A crash, or four, at every stage boundary loses nothing and repeats nothing: the orchestrator
 * (cleanup), volume-daemon, the inspector and vm-operator all die by `kill -9` after each stage is
 * recorded (CLEANUP_MIGRATION_PAUSE_AFTER_STAGE holds the orchestrator there) and while it waits for
 * its manual cutover, come back, and the migration goes on to its cutover with one copy of each disk,
 * no snapshot left on the source, no stray test VM, and each side effect made once.
 */
describe('migration crashes: every service killed -9 at every stage boundary', () => {
  let vcsim: VcsimProcess;
  let suite: Suite;
  let source: MigrationSource;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migration-crash-'));
  const env: Partial<Record<ServiceName, Record<string, string>>> = {};

  const startAll = async (pause: string) => {
    env['vm-operator'] = { VM_ACCELERATOR: 'tcg' };
    env.inspector = { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile };
    env['volume-daemon'] = { VOLUME_APPLIANCE_VM: Suite.APPLIANCE };
    env.cleanup = { CLEANUP_MIGRATION_PAUSE_AFTER_STAGE: pause };
    for (const s of ['vm-operator', 'inspector', 'volume-daemon', 'cleanup'] as const)
      await suite.startService(s, env[s]);
  };

  beforeAll(async () => {
    vcsim = await VcsimProcess.start({ vms: 1, password: 'vc-Secr3t-9f' });
    source = await migrationSource(vcsim, dir, 'DC0_H0_VM0');
    suite = await Suite.start(['gateway', 'host-capability']);
    await startAll(BOUNDARIES[0]);
    await suite.request('POST', '/api/v1/templates', {
      body: { name: 'small', cpu_count: 1, ram_amount: 256 },
    });
    await suite.createVm('small', 'stopped', Suite.APPLIANCE);
    await localHostReady(suite);
  }, 300_000);

  afterAll(async () => {
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes on after each crash and ends cut over, with every side effect made once', async () => {
    const r = await suite.request<MigrationDto>('POST', '/api/v1/migrations', {
      body: {
        source: { VcenterCredentials: credentialsOf(vcsim), vmId: source.moref },
        mode: 'migrate',
        cutover: 'manual',
        validate: { ...TINY_GUEST_VALIDATE, expect_ip: true },
      },
    });
    expect(r.status).toBe(202);
    for (const [i, stage] of BOUNDARIES.entries()) {
      await suite.process('cleanup').waitFor(new RegExp(`paused at failpoint.*"point":"${stage}"`), 300_000);
      for (const s of KILLED) await suite.process(s).stop('SIGKILL');
      await startAll(BOUNDARIES[i + 1] ?? '');
    }
    // Validated, it waits for the cutover; one more crash there, and then the cutover is asked for.
    await waitForMigration(suite, r.body.id, ['awaiting_cutover'], 300_000);
    for (const s of KILLED) await suite.process(s).stop('SIGKILL');
    await startAll('');
    const cut = await suite.request<MigrationDto>('POST', `/api/v1/migrations/${r.body.id}/cutover`);
    expect([cut.status, cut.body.status]).toEqual([202, 'running']);
    const m = await waitForMigration(suite, r.body.id, ['completed'], 300_000);
    // Every stage ran once: a resume after a boundary starts the next stage, never one already done.
    expect(m.stages.map((s) => [s.name, s.attempts])).toEqual(m.stages.map((s) => [s.name, 1]));

    const disks = (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;
    expect(disks.filter((d) => d.name.startsWith('dc0-h0-vm0')).map((d) => [d.name, d.vm_id])).toEqual([
      ['dc0-h0-vm0-disk1', m.production_vm_id],
    ]);
    const vms = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body;
    expect(vms.map((v) => v.name).sort()).toEqual([Suite.APPLIANCE, 'dc0-h0-vm0']);
    expect(suite.qemuPids().length).toBe(1);
    const console = (
      await suite.request<{ text: string }>('GET', `/api/v1/vms/${m.production_vm_id}/console`)
    ).body;
    expect(console.text).toContain(FSTAB_OK_MARKER);

    expect(await new VcsimProbe(vcsim).snapshotNames(source.moref)).toEqual([]);
    expect(await vmPowerState(vcsim, source.moref)).toBe('poweredOff');
    // Each side effect once: one import, one fix, one inspection, one export, one test failover.
    const ops = await suite.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM volume.operations WHERE type IN ('import', 'fix') GROUP BY type ORDER BY type`,
    );
    expect(ops).toEqual([
      { type: 'fix', n: 1 },
      { type: 'import', n: 1 },
    ]);
    expect(await suite.query('SELECT count(*)::int AS n FROM inspector.guest_inspections')).toEqual([
      { n: 1 },
    ]);
    expect(await suite.query(`SELECT state FROM inspector.exports`)).toEqual([{ state: 'closed' }]);
    expect(await suite.query(`SELECT status FROM cleanup.jobs`)).toEqual([{ status: 'cleanup_completed' }]);
  }, 1_200_000);
});
