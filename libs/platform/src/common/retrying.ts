import { FerryError } from '@ferry/contracts';

/** Errors that say nothing about the outcome: the backend was not reached, or did not answer in time. */
export function isTransient(err: unknown): boolean {
  return err instanceof FerryError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT');
}

/**
 * Runs an idempotent backend call again while it fails transiently, with backoff (200 ms doubling to
 * 5 s), for at most `budgetMs`; then the last error is thrown.
 */
export async function retrying<T>(budgetMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await call();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
