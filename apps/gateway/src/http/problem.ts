import { STATUS_CODES } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import { HttpException } from '@nestjs/common';
import type { ErrorCode } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { isPgUnavailable, noteDatabaseUnavailable } from '@ferry/platform';
import { errorCodeOfHttpStatus, httpStatusOf } from './http-status';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Retry-After of every 503, in seconds: long enough for a Postgres restart or a service's replica to
 * come back not to be hammered, short enough that a client does not wait much longer than the outage.
 */
export const RETRY_AFTER_SECONDS = 2;

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

/** A problem for an error the HTTP stack raised with only a status: its code, and that code's status. */
function fromStatus(status: number, detail: string, url: string, requestId: string): Problem {
  const code = errorCodeOfHttpStatus(status);
  return problem(code, httpStatusOf(code), detail, url, requestId);
}

/** Anything thrown while serving a request → a problem document. Unknown errors are logged, never echoed. */
export function toProblem(err: unknown, url: string, requestId: string, logger: LoggerService): Problem {
  if (err instanceof FerryError) {
    return problem(err.code, httpStatusOf(err.code), err.message, url, requestId, err.details);
  }
  if (isPgUnavailable(err)) {
    // The gateway's own Postgres (API keys, idempotency keys) is down: "retry later", not a bug.
    noteDatabaseUnavailable(logger, url, err);
    return problem('UNAVAILABLE', 503, 'the database is unavailable; retry later', url, requestId);
  }
  if (err instanceof HttpException) {
    // Nest's own (no route), and Fastify's body errors, which Nest wraps with their status.
    return fromStatus(err.getStatus(), err.message, url, requestId);
  }
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Fastify's own client errors that reach us unwrapped (bad URL, a path parameter too long).
    return fromStatus(statusCode, (err as Error).message, url, requestId);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ msg: 'unhandled error', url, error: e.message }, e.stack);
  return problem('INTERNAL', 500, 'internal error', url, requestId);
}

/** The headers a problem goes out with: its type, the auth challenge of a 401, the Retry-After of a 503. */
export function problemHeaders(p: Problem): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8` };
  if (p.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (p.status === 503) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  return headers;
}

/**
 * The part of a Fastify reply a problem needs. Structural, because the gateway sees two copies of
 * Fastify's types: its own, and the one @nestjs/platform-fastify builds the server with.
 */
export interface ProblemReply {
  header(name: string, value: string): unknown;
  hasHeader(name: string): boolean;
  status(code: number): { send(payload: unknown): unknown };
}

/** Sends a problem on a Fastify reply, keeping a Retry-After that was already set (429's own). */
export function sendProblem(reply: ProblemReply, p: Problem): void {
  for (const [name, value] of Object.entries(problemHeaders(p))) {
    if (name !== 'retry-after' || !reply.hasHeader(name)) void reply.header(name, value);
  }
  void reply.status(p.status).send(p);
}
