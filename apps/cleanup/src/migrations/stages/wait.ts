import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeOperationDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from '../../saga/peers';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 500;

export function finished(op: VolumeOperationDto): boolean {
  return FINISHED.has(op.status);
}

/**
 * Polls volume operations until `until` holds for each (by default: finished), calling `seen` with
 * each round's view. Aborting the signal (a cancel) stops the wait; the caller cancels the operations.
 */
export async function waitForOperations(
  peers: Peers,
  ids: string[],
  signal: AbortSignal,
  o: { until?: (op: VolumeOperationDto) => boolean; seen?: (ops: VolumeOperationDto[]) => void } = {},
): Promise<VolumeOperationDto[]> {
  const until = o.until ?? finished;
  for (;;) {
    signal.throwIfAborted();
    const ops = await Promise.all(ids.map((id) => peers.operation(id)));
    o.seen?.(ops);
    if (ops.every((op) => until(op) || finished(op))) return ops;
    await sleep(POLL_MS, undefined, { signal });
  }
}

/** The operation ended well, or the error it ended with. */
export function expectCompleted(op: VolumeOperationDto, what: string): void {
  if (op.status === 'completed') return;
  throw new FerryError(
    (op.error?.code as FerryError['code']) ?? 'INTERNAL',
    `${what} (${op.type} ${op.id}) ${op.status}: ${op.error?.message ?? 'no reason given'}`,
    { operationId: op.id },
  );
}
