import { describe, expect, it } from 'vitest';
import type { InspectionQueue } from './inspection-model';
import { applyVmEvent, countConcerns, replayEvents, vmEventOf } from './inspection-model';

const queue = (
  items: [string, InspectionQueue['items'][number]['state']][],
  more = false,
): InspectionQueue => ({
  runId: 'run-1',
  source: 'local',
  state: 'running',
  items: items.map(([vmId, state], i) => ({
    vmId,
    state,
    sequence: i + 1,
    queuedAt: '2026-12-06T00:00:00Z',
  })),
  next_cursor: more ? 'c' : null,
});
const states = (q: InspectionQueue | 'reload') =>
  q === 'reload' ? q : q.items.map((i) => `${i.vmId}:${i.state}`);

describe('the inspection queue, live', () => {
  it('moves a shown VM to its new state in place, with its error, and counts its concerns once inspected', () => {
    const q = queue([
      ['a', 'running'],
      ['b', 'pending'],
    ]);
    const failed = applyVmEvent(
      q,
      { type: 'state', runId: 'run-1', vmId: 'a', to: 'error', error: 'boom' },
      'all',
    );
    expect(states(failed)).toEqual(['a:error', 'b:pending']);
    expect(failed !== 'reload' && failed.items[0]!.error).toBe('boom');
    const again = applyVmEvent(
      failed as InspectionQueue,
      { type: 'state', runId: 'run-1', vmId: 'a', to: 'pending' },
      'all',
    );
    expect(again !== 'reload' && again.items[0]!.error).toBeUndefined();

    const results = {
      concerns: [{ severity: 'blocker' }, { severity: 'warning' }, { severity: 'warning' }, {}],
    };
    const inspected = applyVmEvent(q, { type: 'inspected', runId: 'run-1', vmId: 'b', results }, 'all');
    expect(inspected !== 'reload' && inspected.items[1]!.concerns).toEqual({
      blocker: 1,
      warning: 2,
      info: 0,
    });
    expect(q.items[1]!.concerns).toBeUndefined();
  });

  it('reloads for another run’s VM, or for a VM that joins a fully loaded list; ignores one beyond the pages loaded', () => {
    const q = queue([['a', 'completed']]);
    expect(applyVmEvent(q, { type: 'state', runId: 'run-2', vmId: 'a', to: 'pending' }, 'all')).toBe(
      'reload',
    );
    expect(applyVmEvent(q, { type: 'state', runId: 'run-1', vmId: 'z', to: 'pending' }, 'all')).toBe(
      'reload',
    );
    const paged = queue([['a', 'completed']], true);
    expect(applyVmEvent(paged, { type: 'state', runId: 'run-1', vmId: 'z', to: 'pending' }, 'all')).toBe(
      paged,
    );
    expect(applyVmEvent(q, { type: 'inspected', runId: 'run-1', vmId: 'z', results: {} }, 'all')).toBe(q);
  });

  it('with a state filter, a VM that leaves the state leaves the rows, and one that enters it reloads', () => {
    const q = queue([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    expect(
      states(applyVmEvent(q, { type: 'state', runId: 'run-1', vmId: 'a', to: 'completed' }, 'running')),
    ).toEqual(['b:running']);
    expect(applyVmEvent(q, { type: 'state', runId: 'run-1', vmId: 'c', to: 'running' }, 'running')).toBe(
      'reload',
    );
    expect(applyVmEvent(q, { type: 'state', runId: 'run-1', vmId: 'c', to: 'pending' }, 'running')).toBe(q);
  });

  it('reads only the inspector’s VM events, and counts only known severities', () => {
    expect(
      vmEventOf('ferry.inspector.vm.state-changed', { runId: 'r', vmId: 'a', from: null, to: 'pending' }),
    ).toEqual({
      type: 'state',
      runId: 'r',
      vmId: 'a',
      to: 'pending',
    });
    expect(
      vmEventOf('ferry.inspector.vm.inspected', { runId: 'r', vmId: 'a', results: { concerns: [] } }),
    ).toEqual({
      type: 'inspected',
      runId: 'r',
      vmId: 'a',
      results: { concerns: [] },
    });
    expect(vmEventOf('ferry.inspector.run.state-changed', { runId: 'r', to: 'done' })).toBeNull();
    expect(vmEventOf('ferry.inspector.vm.state-changed', null)).toBeNull();
    expect(countConcerns(undefined)).toEqual({ blocker: 0, warning: 0, info: 0 });
    expect(countConcerns({ concerns: [{ severity: 'info' }, { severity: 'fatal' }] })).toEqual({
      blocker: 0,
      warning: 0,
      info: 1,
    });
  });

  it('applies to a page the events that arrived while it was read, in order; another run’s asks for a reload', () => {
    // Read before a's completion and b's start committed, delivered after them.
    const read = queue([
      ['a', 'running'],
      ['b', 'pending'],
    ]);
    const events = [
      { type: 'state' as const, runId: 'run-1', vmId: 'a', to: 'completed' as const },
      { type: 'state' as const, runId: 'run-1', vmId: 'b', to: 'running' as const },
    ];
    const replayed = replayEvents(read, events, 'all');
    expect(states(replayed.queue)).toEqual(['a:completed', 'b:running']);
    expect(replayed.reload).toBe(false);
    // A read that already shows them is unchanged by them.
    expect(states(replayEvents(replayed.queue, events, 'all').queue)).toEqual(['a:completed', 'b:running']);
    const other = replayEvents(read, [{ type: 'state', runId: 'run-2', vmId: 'x', to: 'pending' }], 'all');
    expect([other.queue, other.reload]).toEqual([read, true]);
  });
});
