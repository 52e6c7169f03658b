import { setTimeout as sleep } from 'node:timers/promises';
import type { InspectionResults } from '@ferry/contracts';
import type { InspectionSource, SnapshotRef } from './source';
import { VmInspectionError } from './source';

export interface NoopSpec {
  delayMs?: number;
  cancelDelayMs?: number;
  failVmIds?: string[];
}

/**
 * Inspects nothing: a zero-cost work unit (or one that takes `delayMs`), for demos, tests and the
 * benchmark. Allowed only with INSPECTOR_NOOP_SOURCE=true; never a fallback for a real source.
 */
export class NoopSource implements InspectionSource {
  readonly type = 'noop' as const;
  readonly snapshots = false;
  private readonly fail: Set<string>;

  constructor(private readonly spec: NoopSpec) {
    this.fail = new Set(spec.failVmIds ?? []);
  }

  async open(): Promise<void> {}

  createSnapshot(): Promise<SnapshotRef> {
    throw new Error('the noop source takes no snapshots');
  }

  async inspect(vmId: string, _ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults> {
    if (this.spec.delayMs) {
      await sleep(this.spec.delayMs, undefined, { signal }).catch(async (err: unknown) => {
        if (this.spec.cancelDelayMs) await sleep(this.spec.cancelDelayMs);
        throw err;
      });
    }
    if (this.fail.has(vmId))
      throw new VmInspectionError(`VM ${vmId} failed on purpose (noop source failVmIds)`);
    return {
      source: 'noop',
      vmId,
      inspectedAt: new Date().toISOString(),
      durationMs: 0,
      snapshot: null,
      concerns: [],
    };
  }

  async removeSnapshot(): Promise<void> {}

  async close(): Promise<void> {}
}
