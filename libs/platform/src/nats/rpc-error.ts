import type { LoggerService } from '@nestjs/common';
import type { RpcErrorBody } from '@ferry/contracts';
import { FerryError, isRpcErrorBody } from '@ferry/contracts';

/**
 * Known errors keep their code and message. Anything else becomes INTERNAL with a fixed message: its
 * stack is logged here, on the service side, and never sent to the caller.
 */
export function toRpcErrorBody(err: unknown, logger: LoggerService, where: string): RpcErrorBody {
  if (err instanceof FerryError) return err.toBody();
  if (isRpcErrorBody(err)) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ msg: 'unhandled error', where, error: e.message }, e.stack);
  return { code: 'INTERNAL', message: 'internal error' };
}
