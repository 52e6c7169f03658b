import { STATUS_CODES } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import { HttpException } from '@nestjs/common';
import type { ErrorCode } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { errorCodeOfHttpStatus, httpStatusOf } from './http-status';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document, with Ferry's error code and the request id. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  /** For VALIDATION: each invalid field with its reasons. */
  errors?: unknown;
  details?: Record<string, unknown>;
}

function problem(
  code: ErrorCode,
  status: number,
  detail: string,
  url: string,
  requestId: string,
  details?: Record<string, unknown>,
): Problem {
  const p: Problem = {
    type: `urn:ferry:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: url,
    code,
    requestId,
  };
  if (details) {
    const { fields, ...rest } = details;
    if (fields) p.errors = fields;
    if (Object.keys(rest).length > 0) p.details = rest;
  }
  return p;
}

/** Anything thrown while serving a request → a problem document. Unknown errors are logged, never echoed. */
export function toProblem(err: unknown, url: string, requestId: string, logger: LoggerService): Problem {
  if (err instanceof FerryError) {
    return problem(err.code, httpStatusOf(err.code), err.message, url, requestId, err.details);
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    return problem(errorCodeOfHttpStatus(status), status, err.message, url, requestId);
  }
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Fastify's own client errors (body too large, malformed JSON, bad content type).
    return problem(errorCodeOfHttpStatus(statusCode), statusCode, (err as Error).message, url, requestId);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ msg: 'unhandled error', url, error: e.message }, e.stack);
  return problem('INTERNAL', 500, 'internal error', url, requestId);
}
