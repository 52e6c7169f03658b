import type { OperationProgressDto, OperationStage, OperationStageDto } from '@ferry/contracts';
import { IMPORT_STAGES } from '@ferry/contracts';

/** How often progress is written to the operation and announced, at most (a stage change always is). */
export const PROGRESS_INTERVAL_MS = 1000;
/** The rate is measured over this much recent history. */
const RATE_WINDOW_MS = 10_000;

type Publish = (progress: OperationProgressDto) => Promise<void>;

/**
 * A byte-moving operation's stages (an import's by default; a fix's are virt-v2v and the edits) and
 * bytes, for a progress bar: which stage runs, how many bytes of how many,
 * the rate over the last few seconds and the ETA it implies. Updates are cheap; `publish` (the row
 * and the throttled `operation.progress` event) runs at most once per PROGRESS_INTERVAL_MS and at
 * every stage change, one at a time, so a slow database never piles writes up.
 */
export class ImportProgress {
  private readonly stages: OperationStageDto[];
  private current: OperationStage;
  private samples: Array<{ at: number; bytes: number }> = [];
  private lastPublished = 0;
  private publishing: Promise<void> = Promise.resolve();
  /** Whether the queued write still has to happen (several flushes in a row write once). */
  private dirty = false;

  constructor(
    private readonly publish: Publish,
    private readonly now: () => number = Date.now,
    names: readonly OperationStage[] = IMPORT_STAGES,
  ) {
    this.current = names[0]!;
    this.stages = names.map((name) => ({
      name,
      state: 'pending',
      bytes_done: 0,
      bytes_total: null,
      started_at: null,
      finished_at: null,
    }));
  }

  /** Starts a stage (the one before it must have ended). */
  start(name: OperationStage, bytesTotal: number | null): Promise<void> {
    const stage = this.stage(name);
    Object.assign(stage, {
      state: 'running',
      bytes_total: bytesTotal,
      bytes_done: 0,
      started_at: this.iso(),
    });
    this.current = name;
    this.samples = [{ at: this.now(), bytes: 0 }];
    return this.flush();
  }

  /** The running stage's bytes done so far (never less than before). */
  advance(bytesDone: number): void {
    const stage = this.stage(this.current);
    if (bytesDone <= stage.bytes_done) return;
    stage.bytes_done = bytesDone;
    const at = this.now();
    this.samples.push({ at, bytes: bytesDone });
    while (this.samples.length > 2 && this.samples[0]!.at < at - RATE_WINDOW_MS) this.samples.shift();
    if (at - this.lastPublished < PROGRESS_INTERVAL_MS) return;
    this.lastPublished = at;
    void this.flush();
  }

  /** What the running stage is doing now (a stage of virt-v2v), announced at once. */
  note(detail: string): Promise<void> {
    this.stage(this.current).detail = detail;
    return this.flush();
  }

  /** Ends a stage as done (all its bytes) or failed, with what it found. */
  end(name: OperationStage, state: 'done' | 'failed', detail?: string): Promise<void> {
    const stage = this.stage(name);
    stage.state = state;
    stage.finished_at = this.iso();
    if (state === 'done' && stage.bytes_total !== null) stage.bytes_done = stage.bytes_total;
    if (detail) stage.detail = detail;
    return this.flush();
  }

  snapshot(): OperationProgressDto {
    const stage = this.stage(this.current);
    const rate = this.rate();
    const total = stage.bytes_total;
    const remaining = total === null ? null : Math.max(0, total - stage.bytes_done);
    return {
      stage: this.current,
      stages: this.stages.map((s) => ({ ...s })),
      bytes_done: stage.bytes_done,
      bytes_total: total,
      percent: total
        ? Math.min(100, Math.round((stage.bytes_done / total) * 1000) / 10)
        : stage.state === 'done'
          ? 100
          : 0,
      rate_bytes_per_s: rate,
      eta_seconds:
        rate && remaining !== null && stage.state === 'running' ? Math.ceil(remaining / rate) : null,
      updated_at: this.iso(),
    };
  }

  /** Waits for the last write, then writes what is new (a final flush before the operation ends). */
  async flush(): Promise<void> {
    this.dirty = true;
    this.publishing = this.publishing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      // Progress is advisory: a failed write must not fail the import, the next one carries it.
      await this.publish(this.snapshot()).catch(() => (this.dirty = true));
    });
    return this.publishing;
  }

  private rate(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 250) return null;
    return Math.round(((last.bytes - first.bytes) * 1000) / (last.at - first.at));
  }

  private stage(name: OperationStage): OperationStageDto {
    return this.stages.find((s) => s.name === name)!;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}
