import type { Schemas } from '../api/client';
import type { FerryEvent } from '../live/events';

export type Job = Schemas['FailoverJobDto'];
export type Step = Schemas['FailoverStepDto'];
export type Phase = Step['phase'];

/** The failover events the view follows (seed 002's job, step by step). */
export const FAILOVER_EVENTS = [
  'ferry.cleanup.job.created',
  'ferry.cleanup.job.status-changed',
  'ferry.cleanup.job.step-changed',
] as const;

/** The jobs after one event: a new job in front, a job's new status, or one of its steps replaced. */
export function applyEvent(jobs: readonly Job[], event: FerryEvent): Job[] {
  switch (event.type) {
    case 'ferry.cleanup.job.created': {
      const { job } = event.data as { job: Job };
      return [job, ...jobs.filter((j) => j.id !== job.id)];
    }
    case 'ferry.cleanup.job.status-changed': {
      const { job } = event.data as { job: Job };
      return jobs.some((j) => j.id === job.id)
        ? jobs.map((j) => (j.id === job.id ? job : j))
        : [job, ...jobs];
    }
    case 'ferry.cleanup.job.step-changed': {
      const { id, step } = event.data as { id: string; step: Step };
      return jobs.map((j) =>
        j.id === id
          ? { ...j, steps: j.steps.map((s) => (s.key === step.key && s.phase === step.phase ? step : s)) }
          : j,
      );
    }
    default:
      return [...jobs];
  }
}

export interface Progress {
  phase: Phase;
  /** Steps finished (done or skipped) of the phase. */
  finished: number;
  total: number;
  percent: number;
  /** The step running now, or the one that failed. */
  current: Step | null;
  failed: boolean;
}

/** How far the job's current phase is: cleanup once it has begun, else failover. */
export function progressOf(job: Job): Progress {
  const phase: Phase = job.status.startsWith('cleanup') ? 'cleanup' : 'failover';
  const steps = job.steps.filter((s) => s.phase === phase);
  const finished = steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
  const current =
    steps.find((s) => s.status === 'failed') ?? steps.find((s) => s.status === 'running') ?? null;
  return {
    phase,
    finished,
    total: steps.length,
    percent: steps.length === 0 ? 0 : Math.round((finished / steps.length) * 100),
    current,
    failed: steps.some((s) => s.status === 'failed'),
  };
}

/** Whether a cleanup may be asked for now (the gateway answers 409 otherwise). */
export function canClean(job: Job): boolean {
  return job.status === 'test_active' || job.status === 'failed';
}

/** Whether the job can be resumed: a failed cleanup goes on from its first step not done. */
export function canResume(job: Job): boolean {
  return job.status === 'cleanup_failed';
}

/** What the confirmation dialog says a cleanup will do, in the order it does it. */
export function cleanupConsequences(job: Job): string[] {
  const vm = job.test_vm_name;
  const volumes = job.volumes.map((v) => v.name);
  return [
    `The test VM ${vm} is powered off.`,
    volumes.length === 0
      ? 'No volumes are attached to it.'
      : volumes.length === 1
        ? `Volume ${volumes[0]} returns to the appliance VM ${job.appliance_vm_name} and is verified there.`
        : `${volumes.length} volumes (${volumes.join(', ')}) return to the appliance VM ${job.appliance_vm_name}, each verified there.`,
    job.delete_vm ? `The test VM ${vm} is deleted.` : `The test VM ${vm} is kept (delete_vm is false).`,
  ];
}

/** The newest job of each source VM, newest first: the failover view's rows. */
export function latestPerVm(jobs: readonly Job[]): Job[] {
  const seen = new Set<string>();
  const rows: Job[] = [];
  for (const job of [...jobs].sort((a, b) => b.created_at.localeCompare(a.created_at))) {
    if (seen.has(job.vm_name)) continue;
    seen.add(job.vm_name);
    rows.push(job);
  }
  return rows;
}
