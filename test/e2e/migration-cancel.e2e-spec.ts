import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskDto, FailoverJobDto, MigrationDto, TemplateDto, VmDto } from '@ferry/contracts';
import { VcsimProbe, VcsimProcess, vmPowerState } from '@ferry/testing';
import type { MigrationSource } from '../support/migrations';
import {
  TINY_GUEST_VALIDATE,
  credentialsOf,
  migrationSource,
  migrationSuite,
  waitForMigration,
} from '../support/migrations';
import { Suite } from '../support/suite';

/**
 * `DELETE /migrations/{id}` in every stage: the migration is held at each point
 * (CLEANUP_MIGRATION_PAUSE_AFTER_STAGE) and canceled there. The source is left exactly as it was (no
 * snapshot; powered on again when the cutover had powered it off) and Ferry's copies are gone, or
 * kept when `keep=true` asks for it.
 */
describe('migration cancel: in every stage, the source as it was and the copies gone', () => {
  let vcsim: VcsimProcess;
  let suite: Suite;
  let source: MigrationSource;
  let probe: VcsimProbe;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migration-cancel-'));

  beforeAll(async () => {
    vcsim = await VcsimProcess.start({ vms: 1, password: 'vc-Secr3t-9f' });
    probe = new VcsimProbe(vcsim);
    source = await migrationSource(vcsim, dir, 'DC0_H0_VM0');
    suite = await migrationSuite(vcsim);
  }, 300_000);

  afterAll(async () => {
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, boolean][] = [
    ['fetch', false],
    ['flatten', false],
    ['inspect', false],
    ['plan', false],
    ['fix', false],
    ['convert', false],
    ['validate', false],
    // Last: the copies it keeps would be in the way of the next migration of the same VM.
    ['cutover:power-off', true],
  ];

  it.each(cases)(
    'cancels after %s (keep: %s)',
    async (point, keep) => {
      await suite.process('cleanup').stop('SIGTERM');
      await suite.startService('cleanup', { CLEANUP_MIGRATION_PAUSE_AFTER_STAGE: point });
      const templatesBefore = (await suite.request<TemplateDto[]>('GET', '/api/v1/templates')).body.map(
        (t) => t.name,
      );
      const r = await suite.request<MigrationDto>('POST', '/api/v1/migrations', {
        body: {
          source: { VcenterCredentials: credentialsOf(vcsim), vmId: source.moref },
          mode: 'migrate',
          cutover: 'auto',
          validate: TINY_GUEST_VALIDATE,
        },
      });
      expect(r.status).toBe(202);
      await suite.process('cleanup').waitFor(new RegExp(`paused at failpoint.*"point":"${point}"`), 300_000);
      if (point === 'cutover:power-off') expect(await vmPowerState(vcsim, source.moref)).toBe('poweredOff');

      const del = await suite.request<MigrationDto>(
        'DELETE',
        `/api/v1/migrations/${r.body.id}${keep ? '?keep=true' : ''}`,
      );
      expect(del.status).toBe(202);
      expect(del.body.status).toBe('canceling');
      const m = await waitForMigration(suite, r.body.id, ['canceled'], 300_000);
      expect(m.keep).toBe(keep);
      // What was done stays recorded; what had not finished is canceled.
      const stage = point.split(':')[0]!;
      const from = m.stages.findIndex((s) => s.name === stage) + (point.includes(':') ? 0 : 1);
      expect(m.stages.slice(from).map((s) => s.state)).toEqual(m.stages.slice(from).map(() => 'canceled'));
      expect(m.stages.slice(0, from).every((s) => s.state === 'done' || s.state === 'skipped')).toBe(true);

      // The source as it was: powered on, no snapshot, its disk.
      expect(await vmPowerState(vcsim, source.moref)).toBe('poweredOn');
      expect(await probe.snapshotNames(source.moref)).toEqual([]);
      // No test VM, no production VM; the test failover (if any) cleaned up.
      const vms = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body.map((v) => v.name);
      expect(vms).toEqual([Suite.APPLIANCE]);
      const jobs = (await suite.request<FailoverJobDto[]>('GET', '/api/v1/failover/jobs')).body;
      expect(jobs.filter((j) => j.status !== 'cleanup_completed')).toEqual([]);
      // The copies: gone, or kept.
      const copies = (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body.filter((d) =>
        d.name.startsWith('dc0-h0-vm0-disk'),
      );
      const templates = (await suite.request<TemplateDto[]>('GET', '/api/v1/templates')).body.map(
        (t) => t.name,
      );
      if (keep) {
        expect(copies.map((d) => d.name)).toEqual(['dc0-h0-vm0-disk1']);
        expect(templates.length).toBe(templatesBefore.length + 1);
      } else {
        expect(copies).toEqual([]);
        expect(templates).toEqual(templatesBefore);
      }
      // Canceling again changes nothing.
      const again = await suite.request<MigrationDto>('DELETE', `/api/v1/migrations/${r.body.id}`);
      expect([again.status, again.body.status]).toEqual([202, 'canceled']);
    },
    600_000,
  );
});
