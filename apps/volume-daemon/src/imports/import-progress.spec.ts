import type { OperationProgressDto } from '@ferry/contracts';
import { ImportProgress, PROGRESS_INTERVAL_MS } from './import-progress';

function tracker() {
  let now = 1_000_000;
  const published: OperationProgressDto[] = [];
  const progress = new ImportProgress(
    async (p) => void published.push(p),
    () => now,
  );
  return { progress, published, tick: (ms: number) => (now += ms) };
}

describe('ImportProgress', () => {
  it('publishes each stage change, and bytes at most once per interval', async () => {
    const { progress, published, tick } = tracker();
    await progress.start('convert', 1000);
    expect(published).toHaveLength(1);
    for (let i = 1; i <= 10; i++) {
      tick(PROGRESS_INTERVAL_MS / 10);
      progress.advance(i * 10);
    }
    await progress.flush();
    // Ten advances over one interval: one throttled write, then the explicit flush.
    expect(published.length).toBeLessThanOrEqual(3);
    expect(published.at(-1)).toMatchObject({
      stage: 'convert',
      bytes_done: 100,
      bytes_total: 1000,
      percent: 10,
    });
  });

  it('measures the rate over recent samples and derives the ETA from it', async () => {
    const { progress, tick } = tracker();
    await progress.start('convert', 10_000);
    tick(1000);
    progress.advance(1000);
    tick(1000);
    progress.advance(2000);
    const s = progress.snapshot();
    expect(s.rate_bytes_per_s).toBe(1000);
    expect(s.eta_seconds).toBe(8);
  });

  it('never goes backwards, and a done stage counts all its bytes', async () => {
    const { progress } = tracker();
    await progress.start('verify', 500);
    progress.advance(300);
    progress.advance(200);
    expect(progress.snapshot().bytes_done).toBe(300);
    await progress.end('verify', 'done', 'identical');
    const verify = progress.snapshot().stages.find((st) => st.name === 'verify')!;
    expect(verify).toMatchObject({ state: 'done', bytes_done: 500, detail: 'identical' });
    expect(progress.snapshot().eta_seconds).toBeNull();
  });

  it('lists every stage in seed order, pending until started', async () => {
    const { progress } = tracker();
    await progress.start('fetch', null);
    await progress.end('fetch', 'failed', 'HTTP 401');
    const stages = progress.snapshot().stages;
    expect(stages.map((s) => [s.name, s.state])).toEqual([
      ['fetch', 'failed'],
      ['flatten', 'pending'],
      ['convert', 'pending'],
      ['verify', 'pending'],
    ]);
  });

  it('keeps going when a write fails, and writes again on the next flush', async () => {
    let fail = true;
    const seen: number[] = [];
    const progress = new ImportProgress(async (p) => {
      if (fail) throw new Error('database down');
      seen.push(p.bytes_done);
    });
    await progress.start('convert', 100);
    fail = false;
    await progress.flush();
    expect(seen).toEqual([0]);
  });
});
