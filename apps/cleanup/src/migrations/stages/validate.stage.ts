import { setTimeout as sleep } from 'node:timers/promises';
import type { BootCheckDto, FailoverJobDto, PlanTemplateDto } from '@ferry/contracts';
import { DEFAULT_BOOT_FAILURE, DEFAULT_BOOT_SUCCESS, FerryError } from '@ferry/contracts';
import type { FailoverService } from '../../failover/failover.service';
import type { Peers } from '../../saga/peers';
import { watchBoot } from '../boot-watch';
import type { MigrationRecord } from '../migrations.repository';
import type { StageOutcome, StageRun } from './stage';

const POLL_MS = 500;

/** Who a migration's test failover says asked for it: how a resumed VALIDATE finds its job. */
export function failoverRequester(migrationId: string): string {
  return `migration ${migrationId}`;
}

/** The boot check's settings, defaults filled in. */
export function bootCheck(m: MigrationRecord) {
  return {
    success: new RegExp(m.validate.bootSuccess || DEFAULT_BOOT_SUCCESS),
    failure: new RegExp(m.validate.bootFailure || DEFAULT_BOOT_FAILURE),
    expectIp: m.validate.expectIp ?? (m.plan?.nics.length ?? 0) > 0,
    timeoutMs: m.validate.bootTimeoutS * 1000,
  };
}

/** The template the plan chose: made from the source's facts when it is derived and missing. */
export async function ensureTemplate(peers: Peers, t: PlanTemplateDto): Promise<void> {
  if (!t.derived || (await peers.template(t.name))) return;
  await peers
    .createTemplate({
      name: t.name,
      cpu_count: t.cpu_count,
      ram_amount: t.ram_amount,
      machine_type: t.machine_type,
      required_traits: t.required_traits,
    })
    .catch(async (err: unknown) => {
      // Made meanwhile (a resume racing a slow reply): fine if it is there now.
      if (!(err instanceof FerryError && err.code === 'CONFLICT') || !(await peers.template(t.name)))
        throw err;
    });
}

/**
 * VALIDATE: the converted VM boots as a test failover (seed 002: the same saga, the same cleanup
 * afterwards) with the plan's template and NICs, and passes only when its serial console shows the
 * boot target within `boot_timeout_s` (and, when asked, it gets an address). The console excerpt and
 * the address go into the report. Then the failover is cleaned up: the volumes are back on the
 * appliance and the test VM is gone, whether the boot passed or not.
 */
export async function runValidate(
  run: StageRun,
  peers: Peers,
  failover: FailoverService,
): Promise<StageOutcome> {
  const { m } = run;
  const plan = m.plan!;
  await ensureTemplate(peers, plan.template);
  let job = m.failoverJobId ? await failover.get(m.failoverJobId) : await startFailover(run, failover);
  if (job.id !== m.failoverJobId) await run.update({ failoverJobId: job.id });
  job = await until(run, failover, job.id, (j) => j.status !== 'pending' && j.status !== 'running');
  if (job.status === 'failed' || job.status === 'cleanup_failed')
    throw new FerryError(
      'UNPROCESSABLE',
      `the test failover ${job.id} ${job.status}: ${job.error?.message ?? ''}`,
    );

  let validation: BootCheckDto | null = run.m.validation;
  if (!validation && job.status === 'test_active') {
    const started = job.steps.find((s) => s.name === 'start-test-vm')?.finished_at;
    const check = bootCheck(run.m);
    validation = await watchBoot(peers, {
      vm: { id: job.test_vm_id!, name: job.test_vm_name },
      ...check,
      startedAt: started ? Date.parse(started) : Date.now(),
      signal: run.signal,
    });
    await run.update({ validation });
  }
  if (job.status === 'test_active')
    await failover.cleanup({ vm_name: job.vm_name, requested_by: failoverRequester(m.id) });
  job = await until(
    run,
    failover,
    job.id,
    (j) => j.status === 'cleanup_completed' || j.status === 'cleanup_failed',
  );
  if (job.status === 'cleanup_failed')
    throw new FerryError('UNPROCESSABLE', `the test failover's cleanup failed: ${job.error?.message ?? ''}`);
  if (!validation?.passed)
    throw new FerryError(
      'UNPROCESSABLE',
      `the converted VM did not pass its boot check: ${validation?.reason ?? 'it never ran'}`,
    );
  return {
    detail: `test VM ${job.test_vm_name} booted in ${Math.round((validation.boot_ms ?? 0) / 1000)} s${validation.ip ? ` and got ${validation.ip}` : ''}; cleaned up`,
  };
}

/** A test failover of the copies, or the one this migration started before a crash. */
async function startFailover(run: StageRun, failover: FailoverService): Promise<FailoverJobDto> {
  const { m } = run;
  const request = {
    vm_name: m.target.name,
    template: m.plan!.template.name,
    volumes: [...m.volumes].sort((a, b) => a.index - b.index).map((v) => v.disk_id),
    nics: m.plan!.nics.map((n) => ({ mac: n.mac })),
    requested_by: failoverRequester(m.id),
  };
  const existing = (await failover.list({ vm_name: m.target.name, limit: 5 })).items.find(
    (j) => j.requested_by === request.requested_by,
  );
  return existing ?? failover.test(request);
}

async function until(
  run: StageRun,
  failover: FailoverService,
  id: string,
  done: (j: FailoverJobDto) => boolean,
): Promise<FailoverJobDto> {
  for (;;) {
    const job = await failover.get(id);
    if (done(job) || job.status === 'failed' || job.status === 'cleanup_failed') return job;
    await sleep(POLL_MS, undefined, { signal: run.signal });
  }
}
