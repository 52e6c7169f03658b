import type { FixOutcomeDto, OperationStepDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { DiskRecord } from '../../disks/disks.repository';
import type { OperationContext } from '../operation-context';
import { OperationCancelled } from '../operation-context';
import type { FlowDeps, GuestFixer } from './flow-deps';
import type { FixParams } from './fix.flow';
import { fixSnapshotName, runFix } from './fix.flow';

const disk = (id: string): DiskRecord =>
  ({
    id,
    name: id,
    ref: `/d/${id}.qcow2`,
    format: 'qcow2',
    vmId: 'appliance',
    state: 'in-use',
  }) as DiskRecord;

const params: FixParams = {
  diskIds: ['d1', 'd2'],
  guest: { root: '/dev/sda2', mountpoints: [], filesystems: [], fstab: [] },
  virtV2v: true,
  fixes: [],
  requestedBy: 'm1',
};

/** What the flow asked for, in order, and how the operation ended. */
interface Run {
  calls: string[];
  ended?: { status: string; message?: string };
}

function harness(
  steps: OperationStepDto[],
  fixer: Partial<GuestFixer> = {},
  signal = new AbortController().signal,
  running = false,
) {
  const run: Run = { calls: [] };
  const ctx = {
    id: 'op1',
    op: { id: 'op1', params, steps: steps.length ? steps : [] },
    diskById: async (id: string) => disk(id),
    step: async <T>(name: string, work: () => Promise<T>) => {
      const r = await work();
      if (name !== 'check-power') run.calls.push(`step:${name}`);
      return r;
    },
    record: async (name: string, status: string) => void run.calls.push(`record:${name}:${status}`),
    setResult: async () => undefined,
    publishProgress: async () => undefined,
    releaseOthers: async () => undefined,
    finish: async (outcome: { status: string; error?: { message: string } }) => {
      run.ended = { status: outcome.status, message: outcome.error?.message };
      return undefined;
    },
  } as unknown as OperationContext;
  const fixes: GuestFixer = {
    snapshot: async (paths, name, action) => {
      run.calls.push(`snapshot:${action}:${paths.length}:${name === fixSnapshotName('op1')}`);
    },
    applyEdits: async () => {
      run.calls.push('edits');
      return [
        { fix: 'by-path', kind: 'write', path: '/etc/fstab', outcome: 'applied', detail: '' },
      ] as FixOutcomeDto[];
    },
    virtV2v: async () => {
      run.calls.push('virt-v2v');
      return 'converted';
    },
    ...fixer,
  };
  const deps = {
    backend: {
      powerState: async () => ({ vmId: 'appliance', state: running ? 'running' : 'stopped', running }),
    },
    signal,
    fixes,
  } as unknown as FlowDeps;
  return { run, go: () => runFix(ctx, deps) };
}

describe('the fix flow', () => {
  it('snapshots, edits, converts with virt-v2v (after the edits), and commits', async () => {
    const h = harness([]);
    await h.go();
    expect(h.run.calls).toEqual([
      'snapshot:create:2:true',
      'step:snapshot',
      'edits',
      'record:guest-edits:done',
      'virt-v2v',
      'step:virt-v2v',
      'snapshot:delete:2:true',
      'step:commit',
    ]);
    expect(h.run.ended).toEqual({ status: 'completed', message: undefined });
  });

  it('resumed half-way (the edits done, virt-v2v not): back to the snapshot, then everything again', async () => {
    const done = (name: string): OperationStepDto => ({ name, status: 'done', at: '' });
    const h = harness([done('check-power'), done('snapshot'), done('guest-edits')]);
    await h.go();
    expect(h.run.calls).toEqual([
      'snapshot:apply:2:true',
      'step:revert',
      'edits',
      'record:guest-edits:done',
      'virt-v2v',
      'step:virt-v2v',
      'snapshot:delete:2:true',
      'step:commit',
    ]);
  });

  it('resumed after everything but the commit: only commits', async () => {
    const done = (name: string): OperationStepDto => ({ name, status: 'done', at: '' });
    const h = harness([done('snapshot'), done('guest-edits'), done('virt-v2v')]);
    await h.go();
    expect(h.run.calls).toEqual(['snapshot:delete:2:true', 'step:commit']);
  });

  it('fails all or nothing: an edit that meets a changed file reverts the disks to the snapshot', async () => {
    const h = harness([], {
      applyEdits: async () => [
        {
          fix: 'by-path',
          kind: 'write',
          path: '/etc/fstab',
          outcome: 'failed',
          detail: 'changed since the plan',
        },
      ],
    });
    await h.go();
    expect(h.run.calls.slice(-3)).toEqual([
      'record:guest-edits:failed',
      'snapshot:apply:2:true',
      'snapshot:delete:2:true',
    ]);
    expect(h.run.ended!.status).toBe('failed');
    expect(h.run.ended!.message).toMatch(
      /\/etc\/fstab: changed since the plan.*back as they were before the fix/,
    );
  });

  it('ends cancelled when its cancel aborts virt-v2v, the disks reverted', async () => {
    const cancel = new AbortController();
    const h = harness(
      [],
      {
        virtV2v: async () => {
          cancel.abort(new OperationCancelled('op1'));
          throw new FerryError('INTERNAL', 'aborted');
        },
      },
      cancel.signal,
    );
    await h.go();
    expect(h.run.ended!.status).toBe('cancelled');
    expect(h.run.calls).toContain('snapshot:apply:2:true');
  });

  it('refuses disks whose VM runs, before any snapshot', async () => {
    const h = harness([], {}, new AbortController().signal, true);
    await h.go();
    expect(h.run.calls).toEqual([]);
    expect(h.run.ended!.status).toBe('failed');
    expect(h.run.ended!.message).toMatch(/VM appliance is running .*stop it first/);
  });
});
