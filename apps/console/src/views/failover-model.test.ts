import { describe, expect, it } from 'vitest';
import type { Job, Step } from './failover-model';
import {
  applyEvent,
  canClean,
  canResume,
  cleanupConsequences,
  latestPerVm,
  progressOf,
} from './failover-model';

const step = (key: string, phase: Step['phase'], status: Step['status']): Step => ({
  key,
  name: key.replace(/-/g, ' '),
  phase,
  volume_id: null,
  status,
  started_at: null,
  finished_at: null,
  detail: null,
  error: null,
  attempts: status === 'pending' ? 0 : 1,
});

const CLEANUP_KEYS = ['validate', 'power-off', 'return-volume:a', 'return-volume:b', 'delete-test-vm'];

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'j1',
    vm_name: 'web',
    type: 'test',
    status: 'test_active',
    phase: 'failover',
    template: 'small',
    appliance_vm_id: 'app',
    appliance_vm_name: 'ferry-appliance',
    test_vm_id: 't1',
    test_vm_name: 'web-test-1234abcd',
    volumes: [
      { id: 'a', name: 'web-disk0' },
      { id: 'b', name: 'web-disk1' },
    ],
    delete_vm: true,
    steps: [
      step('create-test-vm', 'failover', 'done'),
      step('start-test-vm', 'failover', 'done'),
      ...CLEANUP_KEYS.map((k) => step(k, 'cleanup', 'pending')),
    ],
    error: null,
    requested_by: 'alice',
    cleanup_requested_by: null,
    correlation_id: null,
    created_at: '2026-12-06T10:00:00.000Z',
    updated_at: '2026-12-06T10:00:00.000Z',
    finished_at: null,
    ...over,
  };
}

describe('failover view model', () => {
  it('moves the cleanup progress with each step-changed event, and names the running step', () => {
    let jobs = [job({ status: 'cleanup_running', phase: 'cleanup' })];
    expect(progressOf(jobs[0]!)).toMatchObject({
      phase: 'cleanup',
      finished: 0,
      total: 5,
      percent: 0,
      current: null,
    });
    const seen: number[] = [];
    for (const key of CLEANUP_KEYS) {
      jobs = applyEvent(jobs, {
        id: key,
        type: 'ferry.cleanup.job.step-changed',
        data: { id: 'j1', vm_name: 'web', step: step(key, 'cleanup', 'running') },
      });
      expect(progressOf(jobs[0]!).current?.key).toBe(key);
      jobs = applyEvent(jobs, {
        id: key,
        type: 'ferry.cleanup.job.step-changed',
        data: { id: 'j1', vm_name: 'web', step: step(key, 'cleanup', 'done') },
      });
      seen.push(progressOf(jobs[0]!).percent);
    }
    expect(seen).toEqual([20, 40, 60, 80, 100]);
    // The failover phase's steps are left alone.
    expect(jobs[0]!.steps.filter((s) => s.phase === 'failover').every((s) => s.status === 'done')).toBe(true);
  });

  it('counts skipped steps as finished and shows a failed one as current', () => {
    const failed = job({
      status: 'cleanup_failed',
      steps: [
        step('validate', 'cleanup', 'done'),
        step('power-off', 'cleanup', 'skipped'),
        step('return-volume:a', 'cleanup', 'failed'),
        step('delete-test-vm', 'cleanup', 'pending'),
      ],
    });
    expect(progressOf(failed)).toMatchObject({
      finished: 2,
      total: 4,
      percent: 50,
      failed: true,
      current: { key: 'return-volume:a' },
    });
    expect([canClean(failed), canResume(failed)]).toEqual([false, true]);
  });

  it('takes a new job and a job’s new status from their events, once each', () => {
    const first = job();
    let jobs = applyEvent([], { id: '1', type: 'ferry.cleanup.job.created', data: { job: first } });
    jobs = applyEvent(jobs, { id: '1', type: 'ferry.cleanup.job.created', data: { job: first } });
    expect(jobs).toHaveLength(1);
    const running = { ...first, status: 'cleanup_running' as const };
    jobs = applyEvent(jobs, {
      id: '2',
      type: 'ferry.cleanup.job.status-changed',
      data: { id: 'j1', from: 'test_active', to: 'cleanup_running', job: running },
    });
    expect(jobs.map((j) => j.status)).toEqual(['cleanup_running']);
    expect(applyEvent(jobs, { id: '3', type: 'ferry.vm-operator.vm.created', data: {} })).toEqual(jobs);
  });

  it('offers cleanup only where the gateway takes it, and says what it will do', () => {
    expect(
      ['test_active', 'failed'].map((status) => canClean(job({ status: status as Job['status'] }))),
    ).toEqual([true, true]);
    expect(
      ['running', 'cleanup_running', 'cleanup_completed'].some((s) =>
        canClean(job({ status: s as Job['status'] })),
      ),
    ).toBe(false);
    expect(cleanupConsequences(job())).toEqual([
      'The test VM web-test-1234abcd is powered off.',
      '2 volumes (web-disk0, web-disk1) return to the appliance VM ferry-appliance, each verified there.',
      'The test VM web-test-1234abcd is deleted.',
    ]);
    expect(cleanupConsequences(job({ delete_vm: false, volumes: [{ id: 'a', name: 'web-disk0' }] }))).toEqual(
      [
        'The test VM web-test-1234abcd is powered off.',
        'Volume web-disk0 returns to the appliance VM ferry-appliance and is verified there.',
        'The test VM web-test-1234abcd is kept (delete_vm is false).',
      ],
    );
  });

  it('shows the newest job of each VM', () => {
    const older = job({ id: 'old', created_at: '2026-12-01T00:00:00.000Z', status: 'cleanup_completed' });
    const newer = job({ id: 'new', created_at: '2026-12-02T00:00:00.000Z' });
    const other = job({ id: 'x', vm_name: 'db', created_at: '2026-11-30T00:00:00.000Z' });
    expect(latestPerVm([older, other, newer]).map((j) => j.id)).toEqual(['new', 'x']);
  });
});
