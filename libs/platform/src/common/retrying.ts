import { FerryError } from '@ferry/contracts';
import { isPgUnavailable } from '../database/pg-errors';

/**
 * Errors that say nothing about the outcome: the backend (or our own Postgres) was not reached, or
 * did not answer in time.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof FerryError) return err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT';
  return isPgUnavailable(err);
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

/**
 * Runs `call` again for as long as Postgres cannot be reached (200 ms doubling to 2 s), until
 * `stop()` is true; then the last error is thrown. For writes whose content lives only in memory
 * (an inspection's outcome), so that an outage delays them instead of losing them: `call` must be a
 * transaction that either commits whole or not at all.
 */
export async function whileDatabaseDown<T>(call: () => Promise<T>, stop: () => boolean): Promise<T> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await call();
    } catch (err) {
      if (!isPgUnavailable(err) || stop()) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
