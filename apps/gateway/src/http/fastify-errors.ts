import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import { acceptCorrelationId } from '@ferry/platform';
import type { Problem } from './problem';
import { problemHeaders, toProblem } from './problem';

/*
 * What Fastify and Node refuse before any route, hook or Nest filter runs, each answered with the same
 * problem document as everything else. Each of these would otherwise write its own plain JSON (or an
 * empty body) straight to the socket:
 * - Fastify's router: a URL it cannot decode (400) and a path parameter over `maxParamLength` (414),
 *   through the `frameworkErrors` option;
 * - Node's HTTP parser: bytes that are not HTTP (400), headers over the size limit (431), a request
 *   that does not arrive in time (408), through Fastify's `clientErrorHandler` option;
 * - Node's `Expect` check: anything but `100-continue` (417), through the server's `checkExpectation`.
 * Body errors (malformed JSON, unsupported media type, too large) and unknown routes are not here:
 * Nest routes them through the global ProblemFilter.
 */

/** An error that carries only an HTTP status, as Fastify's own errors do. */
function statusError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

/** Writes `p` as the whole response; `close` when the client may still be sending a body we will not read. */
function writeProblem(res: ServerResponse, p: Problem, close: boolean): void {
  const body = JSON.stringify(p);
  res.writeHead(p.status, {
    ...problemHeaders(p),
    'x-request-id': p.requestId,
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/**
 * Fastify's `frameworkErrors`: the request has an id but no route, so no hook runs for it and the
 * answer goes straight to Node's response, as Fastify's own would.
 */
export function frameworkErrorHandler(
  logger: LoggerService,
): (err: Error, req: { id: string; url: string }, reply: { raw: ServerResponse }) => void {
  return (err, req, reply) => writeProblem(reply.raw, toProblem(err, req.url, req.id, logger), false);
}

/** The status and detail of an error of Node's HTTP parser, as Fastify's default handler tells them apart. */
export function clientErrorOf(err: { code?: string }): { status: number; detail: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, detail: 'the request did not arrive in time' };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, detail: 'the request headers are larger than the server accepts' };
  }
  return { status: 400, detail: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})` };
}

/** The request target of the first line of a raw request, when it is readable; '' otherwise. */
export function requestTargetOf(rawPacket: unknown): string {
  if (!Buffer.isBuffer(rawPacket)) return '';
  const line = rawPacket.toString('latin1', 0, Math.min(rawPacket.length, 2048)).split('\r\n', 1)[0];
  const target = line.split(' ')[1];
  return target?.startsWith('/') ? target : '';
}

/** A whole HTTP/1.1 response carrying `p`, for the places that hold only a socket. */
export function rawProblemResponse(p: Problem): string {
  const body = JSON.stringify(p);
  const headers: Record<string, string> = {
    ...problemHeaders(p),
    'x-request-id': p.requestId,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? 'Error'}\r\n${head}\r\n${body}`;
}

/** Fastify's `clientErrorHandler`: Node could not parse the request, so there is no request to answer. */
export function clientErrorHandler(
  logger: LoggerService,
): (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => void {
  return (err, socket) => {
    // A reset connection has no one to answer (Node's own advice for 'clientError').
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, detail } = clientErrorOf(err);
    const p = toProblem(
      statusError(status, detail),
      requestTargetOf(err.rawPacket),
      acceptCorrelationId(undefined),
      logger,
    );
    if (socket.writable) socket.end(rawProblemResponse(p));
    else socket.destroy();
  };
}

/** Node answers an `Expect` other than `100-continue` with a bare 417 unless someone listens. */
export function answerUnmetExpectations(server: Server, logger: LoggerService): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = acceptCorrelationId(req.headers['x-request-id'] as string | undefined);
    const detail = `Expect: ${req.headers.expect ?? ''} is not supported; only 100-continue is`;
    // The body the client holds back would otherwise be read as the next request: close.
    writeProblem(res, toProblem(statusError(417, detail), req.url ?? '', requestId, logger), true);
  });
}
