// The migration bench (issue 17): plan and migrate of the tiny guest end to end through the gateway,
// against the sum of the raw steps it comes down to, timed in the same run: the streaming
// fetch+convert floor, one guestfish launch making the same edits, and a bare qemu-system boot of
// the fixed image to its marker. And the cutover's downtime.
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskDto, MigrationDto, MigrationPlanDto, MigrationReportDto, VmDto } from '@ferry/contracts';
import { applyGuestFixes, mountGuest } from '@ferry/guest';
import { GuestfishSession, libguestfsEnv } from '@ferry/qemu';
import { VcsimProbe, VcsimProcess, bootToMarker, powerOn, vcsimFileUrl } from '@ferry/testing';
import { TINY_GUEST_VALIDATE, credentialsOf, migrationSource, migrationSuite } from '../support/migrations';
import type { Suite } from '../support/suite';
import { round } from './import-disk';
import { streamingFloor } from './import-floors';
import { median } from './load';

const RUNS = Number(process.env['BENCH_MIGRATION_RUNS'] ?? 1);
const QEMU = 'qemu-system-x86_64';
const TIMEOUT_MS = 900_000;

type Emit = (line: Record<string, unknown>) => void;

const seconds = (ms: number) => round(ms / 1000, 1);
const stageMs = (m: MigrationDto, name: string) => {
  const s = m.stages.find((x) => x.name === name)!;
  return s.started_at && s.finished_at ? Date.parse(s.finished_at) - Date.parse(s.started_at) : 0;
};

async function until(suite: Suite, id: string, status: string): Promise<MigrationDto> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const m = (await suite.request<MigrationDto>('GET', `/api/v1/migrations/${id}`)).body;
    if (m.status === status) return m;
    if (['failed', 'blocked', 'canceled', 'completed', 'planned'].includes(m.status) || Date.now() > deadline)
      throw new Error(`migration ${id} is ${m.status}, not ${status}: ${JSON.stringify(m.error)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function benchMigration(emit: Emit): Promise<void> {
  const dir = mkdtempSync('/tmp/fbm-');
  let vcsim: VcsimProcess | undefined;
  let suite: Suite | undefined;
  const children = new Set<ChildProcess>();
  try {
    vcsim = await VcsimProcess.start({ vms: 1, password: 'bench-vc-Pw1' });
    const source = await migrationSource(vcsim, dir, 'DC0_H0_VM0');
    suite = await migrationSuite(vcsim, { gateway: { RATE_LIMIT_PER_SECOND: '0' } });
    const body = (name: string, mode: 'plan' | 'migrate') => ({
      source: { VcenterCredentials: credentialsOf(vcsim!), vmId: source.moref },
      mode,
      cutover: 'auto',
      target: { name },
      validate: { ...TINY_GUEST_VALIDATE, expect_ip: true },
    });
    const floor = {
      flatUrl: vcsimFileUrl(vcsim, `[LocalDS_0] ${source.name}/boot-flat.vmdk`),
      cookie: await new VcsimProbe(vcsim).sessionCookie(),
      caFile: vcsim.caFile,
    };

    const lines: Record<string, number>[] = [];
    for (let r = 0; r < RUNS; r++) {
      const name = `bench-${r}`;
      // Ferry: a plan, then a migration with cutover auto, each through the gateway from its 202.
      const t0 = performance.now();
      const planned = await suite.request<MigrationDto>('POST', '/api/v1/migrations', {
        body: body(name, 'plan'),
      });
      await until(suite, planned.body.id, 'planned');
      const planMs = performance.now() - t0;
      const t1 = performance.now();
      const started = await suite.request<MigrationDto>('POST', '/api/v1/migrations', {
        body: body(name, 'migrate'),
      });
      const m = await until(suite, started.body.id, 'completed');
      const migrateMs = performance.now() - t1;
      const report = (await suite.request<MigrationReportDto>('GET', `/api/v1/migrations/${m.id}/report`))
        .body;
      const plan = (await suite.request<MigrationPlanDto>('GET', `/api/v1/migrations/${m.id}/plan`)).body;

      // The raw steps, on the same source, in the same run.
      const fetch = await streamingFloor(dir, floor, children, source.guest.sizeBytes);
      const fixed = join(dir, `fixed-${r}.raw`);
      copyFileSync(source.guest.path, fixed);
      const g0 = performance.now();
      const session = await GuestfishSession.start([{ path: fixed, format: 'raw' }], {
        guestfish: 'guestfish',
        env: await libguestfsEnv(QEMU),
        timeoutMs: TIMEOUT_MS,
        readWrite: true,
      });
      const guest = {
        root: plan.guest!.root!,
        mountpoints: [{ device: plan.guest!.root!, path: '/' }],
      };
      try {
        await mountGuest(session, guest, { readOnly: false });
        const outcomes = await applyGuestFixes(session, plan.fixes);
        if (outcomes.some((o) => o.outcome === 'failed'))
          throw new Error(`the raw edits failed: ${JSON.stringify(outcomes)}`);
        await session.run(['umount-all', 'sync']);
      } finally {
        await session.close();
      }
      const guestfishMs = performance.now() - g0;
      const b0 = performance.now();
      const boot = await bootToMarker(
        { path: fixed, format: 'raw', bus: 'scsi', nicMac: source.mac },
        /FERRY-NET-(OK|FAIL)/,
        TIMEOUT_MS,
      );
      const bareBootMs = performance.now() - b0;
      if (!boot.console.includes('FERRY-FSTAB-OK'))
        throw new Error(`the fixed image did not boot: ${boot.console}`);
      rmSync(fixed, { force: true });

      const rawMs = fetch.wall_s * 1000 + guestfishMs + bareBootMs;
      const ferryMs = planMs + migrateMs;
      const line = {
        run: r,
        plan_s: seconds(planMs),
        migrate_s: seconds(migrateMs),
        ferry_s: seconds(ferryMs),
        floor_fetch_convert_s: round(fetch.wall_s, 2),
        floor_guestfish_edits_s: seconds(guestfishMs),
        floor_bare_boot_s: seconds(bareBootMs),
        raw_sum_s: seconds(rawMs),
        ratio: round(ferryMs / rawMs),
        // The migration alone (its own plan stage included), against the same raw steps.
        migrate_ratio: round(migrateMs / rawMs),
        appliance_boots: report.appliance_boots,
        validation_boot_s: seconds(report.validation!.boot_ms!),
        validation_vs_bare_boot: round(report.validation!.boot_ms! / bareBootMs),
        downtime_s: seconds(report.cutover!.downtime_ms!),
      };
      lines.push(line);
      const shares = Object.fromEntries(
        m.stages.map((s) => [`${s.name}_share`, round(stageMs(m, s.name) / migrateMs)]),
      );
      emit({ bench: 'migration_tiny_guest', ...line, ...shares });
      emit({
        bench: 'migration_downtime',
        run: r,
        downtime_s: line.downtime_s,
        production_boot_s: seconds(report.cutover!.boot_ms!),
        bare_boot_s: line.floor_bare_boot_s,
      });

      // The source again as it was, for the next run: the production VM and its volume gone, powered on.
      await suite.request('DELETE', `/api/v1/vms/${m.production_vm_id}`);
      const disks = (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;
      for (const d of disks.filter((x) => x.name.startsWith(`${name}-disk`)))
        await suite.request('DELETE', `/api/v1/disks/${d.id}`);
      const vms = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body;
      if (vms.some((v) => v.name === name)) throw new Error(`VM ${name} is still there`);
      await powerOn(vcsim, source.moref);
    }
    const ratio = median(lines.map((l) => l.ratio!));
    const bootRatio = median(lines.map((l) => l.validation_vs_bare_boot!));
    emit({
      goal: 'migration_tiny_guest (plan + migrate) <= 1.5 x raw steps',
      ratio,
      limit: 1.5,
      pass: ratio <= 1.5,
    });
    emit({
      goal: 'migration validation boot <= 1.2 x bare qemu boot',
      ratio: bootRatio,
      limit: 1.2,
      pass: bootRatio <= 1.2,
    });
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
