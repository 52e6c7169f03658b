import type { FailoverPhase, FailoverStepDto, FailoverVolumeDto } from '@ferry/contracts';

/** Steps of the failover phase, in order. */
export const FAILOVER_STEPS = ['create-test-vm', 'move-volume', 'start-test-vm'] as const;
/** Steps of the cleanup phase (seed 002 phases 1-4), in order. */
export const CLEANUP_STEPS = [
  'validate',
  'check-power-state',
  'power-off',
  'verify-powered-off',
  'return-volume',
  'verify-appliance',
  'delete-test-vm',
  'verify-test-vm-deleted',
] as const;
export type StepName = (typeof FAILOVER_STEPS)[number] | (typeof CLEANUP_STEPS)[number];

/** Steps run once per volume; the others run once per job. */
const PER_VOLUME: ReadonlySet<StepName> = new Set(['move-volume', 'return-volume']);

function step(name: StepName, phase: FailoverPhase, volume?: FailoverVolumeDto): FailoverStepDto {
  return {
    key: volume ? `${name}:${volume.name}` : name,
    name,
    phase,
    volume_id: volume?.id ?? null,
    status: 'pending',
    started_at: null,
    finished_at: null,
    detail: null,
    error: null,
    attempts: 0,
  };
}

export function planSteps(phase: FailoverPhase, volumes: FailoverVolumeDto[]): FailoverStepDto[] {
  const names = phase === 'failover' ? FAILOVER_STEPS : CLEANUP_STEPS;
  return names.flatMap((name) =>
    PER_VOLUME.has(name) ? volumes.map((v) => step(name, phase, v)) : [step(name, phase)],
  );
}

/** The phase's steps that failed or were cut off, made pending again for a resume; done steps stay done. */
export function resetUnfinished(steps: FailoverStepDto[], phase: FailoverPhase): FailoverStepDto[] {
  return steps.map((s) =>
    s.phase === phase && (s.status === 'failed' || s.status === 'running')
      ? { ...s, status: 'pending' as const, finished_at: null }
      : s,
  );
}
