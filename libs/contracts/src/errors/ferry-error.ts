import type { ErrorCode } from './error-codes';
import { isErrorCode } from './error-codes';

/** One invalid field, as reported in `details.fields` of a VALIDATION error. */
export interface FieldError {
  /** Dotted path of the field, e.g. `cpu_count` or `VcenterCredentials.url`. */
  field: string;
  /** Human-readable reasons, one per failed constraint. */
  messages: string[];
}

/** The error half of an RPC reply, and the `code`/`detail` of a problem+json body. */
export interface RpcErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The one exception type that crosses service boundaries. Services throw it with a code; the NATS
 * transport sends `{code, message, details}`; the client rethrows it; the gateway maps the code to HTTP.
 */
export class FerryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'FerryError';
  }

  toBody(): RpcErrorBody {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }

  static fromBody(body: RpcErrorBody): FerryError {
    return new FerryError(body.code, body.message, body.details);
  }

  static notFound(message: string, details?: Record<string, unknown>): FerryError {
    return new FerryError('NOT_FOUND', message, details);
  }

  static conflict(message: string, details?: Record<string, unknown>): FerryError {
    return new FerryError('CONFLICT', message, details);
  }

  static validation(message: string, fields: FieldError[]): FerryError {
    return new FerryError('VALIDATION', message, { fields });
  }
}

export function isRpcErrorBody(value: unknown): value is RpcErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isErrorCode(v['code']) && typeof v['message'] === 'string';
}

/** `{code, message}` of any error, for a record that keeps why something failed (INTERNAL if not a FerryError). */
export function errorOf(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof FerryError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}
