import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What travels with one unit of work (an HTTP request, an RPC message) through async calls. */
export interface RequestContext {
  correlationId: string;
  /** Aborted when the caller's deadline passes (an RPC with a Ferry-Deadline header). */
  signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Ids accepted from the outside world: printable, no spaces, at most 128 characters. */
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function acceptCorrelationId(candidate: string | undefined | null): string {
  return candidate && ID_PATTERN.test(candidate) ? candidate : randomUUID();
}

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/** The signal of the current unit of work: a long handler stops when its caller has given up. */
export function currentSignal(): AbortSignal | undefined {
  return storage.getStore()?.signal;
}
