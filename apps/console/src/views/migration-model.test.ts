import { describe, expect, it } from 'vitest';
import { sparkPoints } from '../components/sparkline';
import type { Migration, Stage } from './migration-model';
import { applyMigrationEvent, bytesText, stagePercent } from './migration-model';

const NAMES = ['fetch', 'flatten', 'inspect', 'plan', 'fix', 'convert', 'validate', 'cutover'] as const;
const GIB = 1024 ** 3;

const stage = (name: Stage['name'], state: Stage['state'] = 'pending'): Stage => ({
  name,
  state,
  started_at: null,
  finished_at: null,
  attempts: 0,
  progress: null,
  detail: null,
  error: null,
});

function migration(over: Partial<Migration> = {}): Migration {
  return {
    id: 'm1',
    status: 'running',
    mode: 'migrate',
    cutover: 'manual',
    source: { vcenter: 'https://vc', vm_id: 'vm-1', moref: 'vm-1', vm_name: 'web' },
    target: { template: null, host: null, name: 'web', format: 'qcow2', keep_static_ip: true },
    fixes: null,
    validate: { boot_timeout_s: 300, expect_ip: false, boot_success: 'login:', boot_failure: 'panic' },
    stages: NAMES.map((n) => stage(n)),
    volumes: [],
    failover_job_id: null,
    production_vm_id: null,
    error: null,
    keep: false,
    requested_by: null,
    correlation_id: null,
    created_at: '2026-12-06T10:00:00.000Z',
    updated_at: '2026-12-06T10:00:00.000Z',
    finished_at: null,
    ...over,
  } as Migration;
}

describe('migration view model', () => {
  it('moves a stage through its events: running, bytes, done; and takes the status along', () => {
    let list = [migration()];
    list = applyMigrationEvent(list, {
      id: '1',
      type: 'ferry.cleanup.migration.stage-changed',
      data: { id: 'm1', status: 'running', stage: stage('fetch', 'running') },
    });
    expect(list[0]!.stages[0]!.state).toBe('running');
    const progress = { bytes_done: 2 * GIB, bytes_total: 8 * GIB };
    list = applyMigrationEvent(list, {
      id: '2',
      type: 'ferry.cleanup.migration.progress',
      data: { id: 'm1', stage: 'fetch', progress },
    });
    const fetch = list[0]!.stages[0]!;
    expect(stagePercent(fetch)).toBe(25);
    expect(bytesText(fetch.progress!)).toBe('2.0 of 8.0 GiB');
    list = applyMigrationEvent(list, {
      id: '3',
      type: 'ferry.cleanup.migration.status-changed',
      data: { id: 'm1', from: 'running', to: 'awaiting_cutover', reason: 'validated' },
    });
    expect(list[0]!.status).toBe('awaiting_cutover');
    // Another migration's events leave this one alone.
    const other = applyMigrationEvent(list, {
      id: '4',
      type: 'ferry.cleanup.migration.stage-changed',
      data: { id: 'm2', status: 'running', stage: stage('fetch', 'failed') },
    });
    expect(other).toEqual(list);
  });

  it('takes whole migrations from created/completed/failed events, once each', () => {
    const m = migration();
    let list = applyMigrationEvent([], {
      id: '1',
      type: 'ferry.cleanup.migration.created',
      data: { migration: m },
    });
    list = applyMigrationEvent(list, {
      id: '2',
      type: 'ferry.cleanup.migration.completed',
      data: { migration: { ...m, status: 'completed' } },
    });
    expect(list.map((x) => x.status)).toEqual(['completed']);
  });

  it('has no percentage for a stage that does not know its bytes', () => {
    expect(stagePercent(stage('plan', 'running'))).toBeNull();
    expect(stagePercent({ ...stage('fetch'), progress: { bytes_done: 5, bytes_total: null } })).toBeNull();
  });
});

describe('sparkline', () => {
  it('puts each value at its height, caps values over the top, and draws nothing for no data', () => {
    expect(sparkPoints([0, 5000, 10000], 5000, 100, 50)).toBe('0.0,50.0 50.0,0.0 100.0,0.0');
    expect(sparkPoints([2500], 5000, 100, 50)).toBe('0.0,25.0');
    expect(sparkPoints([], 5000, 100, 50)).toBe('');
  });
});
