import type { LoggerService } from '@nestjs/common';
import type { RpcErrorBody } from '@ferry/contracts';
import { FerryError, isRpcErrorBody } from '@ferry/contracts';
import { isPgUnavailable } from '../database/pg-errors';

const outage = { loggedAt: 0, answered: 0 };

/**
 * Logs that a request was answered "database unavailable": every request says so while Postgres is
 * down, so one line every 5 s, with how many were answered since the last. Shared by the NATS error
 * mapping and the gateway's problem mapping.
 */
export function noteDatabaseUnavailable(logger: LoggerService, where: string, err: unknown): void {
  const now = Date.now();
  outage.answered++;
  if (now - outage.loggedAt < 5000) return;
  logger.warn({
    msg: 'database unavailable',
    where,
    error: err instanceof Error ? err.message : String(err),
    answered: outage.answered,
  });
  outage.loggedAt = now;
  outage.answered = 0;
}

/**
 * Known errors keep their code and message. A Postgres that cannot be reached or went away is
 * UNAVAILABLE (the gateway answers 503 with Retry-After), for every handler of every service: the
 * caller should retry, and nothing is wrong with Ferry. Anything else becomes INTERNAL with a fixed message: its
 * stack is logged here, on the service side, and never sent to the caller.
 */
export function toRpcErrorBody(err: unknown, logger: LoggerService, where: string): RpcErrorBody {
  if (err instanceof FerryError) return err.toBody();
  if (isRpcErrorBody(err)) return err;
  if (isPgUnavailable(err)) {
    noteDatabaseUnavailable(logger, where, err);
    return {
      code: 'UNAVAILABLE',
      message: 'the database is unavailable; try again shortly',
      details: { dependency: 'postgres' },
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ msg: 'unhandled error', where, error: e.message }, e.stack);
  return { code: 'INTERNAL', message: 'internal error' };
}
