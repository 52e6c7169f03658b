import type { Schemas } from '../api/client';
import type { paths } from '../api/schema';

export type InspectionQueue = Schemas['InspectionQueueDto'];
export type QueueItem = Schemas['InspectionQueueItemDto'];
/** Which VMs the queue shows: all, or those in one state (`GET /vms/inspector/queue?state=`). */
export type QueueFilter =
  | NonNullable<NonNullable<paths['/api/v1/vms/inspector/queue']['get']['parameters']['query']>['state']>
  | 'all';
type ConcernCounts = Schemas['ConcernCountsDto'];

/** What the inspector's events say about one VM (ferry.inspector.vm.state-changed / .inspected). */
export type VmEvent =
  | { type: 'state'; runId: string; vmId: string; to: QueueItem['state']; error?: string }
  | { type: 'inspected'; runId: string; vmId: string; results: unknown };

/** Parses the VM ids a user typed: commas, spaces or new lines between them; order kept, repeats dropped. */
export function parseVmIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** A completed inspection's concerns counted by severity, as the queue lists them. */
export function countConcerns(results: unknown): ConcernCounts {
  const counts: ConcernCounts = { blocker: 0, warning: 0, info: 0 };
  const list = (results as { concerns?: unknown } | null | undefined)?.concerns;
  if (!Array.isArray(list)) return counts;
  for (const c of list as { severity?: string }[])
    if (c.severity === 'blocker' || c.severity === 'warning' || c.severity === 'info') counts[c.severity]++;
  return counts;
}

/**
 * The queue as shown after one VM's event: the VM's row changed in place, or `reload` when the rows
 * shown cannot be patched (another run's queue, a VM that joins the rows shown). A VM beyond the pages
 * loaded so far changes nothing shown. `filter` keeps one state: a VM that leaves it leaves the rows.
 */
export function applyVmEvent(
  queue: InspectionQueue,
  event: VmEvent,
  filter: QueueFilter,
): InspectionQueue | 'reload' {
  if (event.runId !== queue.runId) return 'reload';
  const at = queue.items.findIndex((i) => i.vmId === event.vmId);
  if (at < 0) {
    const joins = event.type === 'state' && (filter === 'all' || event.to === filter);
    // Rows are in queue order: one not shown belongs after them unless every page is loaded.
    return joins && queue.next_cursor === null ? 'reload' : queue;
  }
  const item = queue.items[at]!;
  let next: QueueItem;
  if (event.type === 'inspected') {
    next = { ...item, concerns: countConcerns(event.results) };
  } else {
    if (filter !== 'all' && event.to !== filter)
      return { ...queue, items: queue.items.filter((_, i) => i !== at) };
    next = { ...item, state: event.to };
    if (event.error) next.error = event.error;
    else delete next.error;
  }
  return { ...queue, items: queue.items.map((i, k) => (k === at ? next : i)) };
}

/** The VM event an SSE event carries, or null when it is not one. */
export function vmEventOf(type: string, data: unknown): VmEvent | null {
  const d = data as {
    runId?: string;
    vmId?: string;
    to?: QueueItem['state'];
    error?: string;
    results?: unknown;
  };
  if (typeof d?.runId !== 'string' || typeof d.vmId !== 'string') return null;
  if (type === 'ferry.inspector.vm.inspected')
    return { type: 'inspected', runId: d.runId, vmId: d.vmId, results: d.results };
  if (type === 'ferry.inspector.vm.state-changed' && d.to)
    return { type: 'state', runId: d.runId, vmId: d.vmId, to: d.to, ...(d.error ? { error: d.error } : {}) };
  return null;
}

/**
 * A page read while events arrived, with those events applied again in order: the read may predate
 * some of them. Each sets a VM's state outright, so applying one the read already shows changes
 * nothing. `reload` when one cannot be applied to these rows (see applyVmEvent).
 */
export function replayEvents(
  queue: InspectionQueue,
  events: readonly VmEvent[],
  filter: QueueFilter,
): { queue: InspectionQueue; reload: boolean } {
  let reload = false;
  for (const event of events) {
    const next = applyVmEvent(queue, event, filter);
    if (next === 'reload') reload = true;
    else queue = next;
  }
  return { queue, reload };
}
