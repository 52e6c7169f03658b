import type { IncomingMessage, Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { FerryError, RESOURCE_ID_MAX_LENGTH } from '@ferry/contracts';
import { acceptCorrelationId, runWithContext } from '@ferry/platform';
import type { JsonLogger } from '@ferry/platform';
import type { GatewayConfig } from '../config/gateway.config';
import { answerUnmetExpectations, clientErrorHandler, frameworkErrorHandler } from './fastify-errors';
import { RETRY_AFTER_SECONDS, sendProblem, toProblem } from './problem';

/**
 * The longest path parameter the router takes; a longer one is 414 URI_TOO_LONG before routing.
 * Fastify's default (100) is shorter than an id may be, and an id a little too long should get the
 * 400 that names its field, so the bound is well above the longest valid id.
 */
export const MAX_PATH_PARAM_LENGTH = 2 * RESOURCE_ID_MAX_LENGTH;

/** Seed 004 serves its health at the root: the same route as /api/v1/health, key-free like it. */
const ROOT_ALIASES: ReadonlyMap<string, string> = new Map([['/health', '/api/v1/health']]);

/** The URL a request is routed by: a root alias becomes its /api/v1 route, with the query kept. */
export function rewriteRootAlias(url: string): string {
  const q = url.indexOf('?');
  const target = ROOT_ALIASES.get(q === -1 ? url : url.slice(0, q));
  if (target === undefined) return url;
  return q === -1 ? target : target + url.slice(q);
}

/**
 * The gateway's Fastify: request ids, errors raised before routing as problem+json (fastify-errors.ts),
 * root aliases, and shutdown answered with a 503 problem instead of Fastify's plain one.
 */
export function createGatewayAdapter(config: GatewayConfig, logger: JsonLogger): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: config.HTTP_CONNECTION_TIMEOUT_MS,
    // Between requests Node uses keepAliveTimeout instead (Fastify's default: 72 s).
    keepAliveTimeout: Math.min(72_000, config.HTTP_CONNECTION_TIMEOUT_MS),
    // Node checks request deadlines every 30 s by default: a slow request would get up to 30 s more.
    http: {
      headersTimeout: Math.min(60_000, config.HTTP_REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: Math.max(
        250,
        Math.min(5000, Math.floor(config.HTTP_REQUEST_TIMEOUT_MS / 4)),
      ),
    },
    genReqId: (req: IncomingMessage) =>
      acceptCorrelationId(req.headers['x-request-id'] as string | undefined),
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    rewriteUrl: (req: IncomingMessage) => rewriteRootAlias(req.url ?? '/'),
    frameworkErrors: frameworkErrorHandler(logger),
    clientErrorHandler: clientErrorHandler(logger),
    // Fastify's own 503 while closing is plain JSON without Retry-After; the hook below answers instead.
    return503OnClosing: false,
  });
  const fastify = adapter.getInstance();
  answerUnmetExpectations(fastify.server, logger);
  // A keep-alive connection that is busy when shutdown starts would otherwise stay open after its
  // response and hold the server's close() until the client times it out.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Every request runs in its own context, so logs and NATS headers carry its id.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    if (closing) {
      const err = new FerryError('UNAVAILABLE', 'the gateway is shutting down; retry the request');
      sendProblem(reply, toProblem(err, req.url, req.id, logger));
      return;
    }
    runWithContext({ correlationId: req.id }, done);
  });
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    // Every 503 says when to come back, the health report's included.
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) {
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    }
    done(null, payload);
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    if (logger.isEnabled('debug')) {
      logger.debug(
        {
          msg: 'request',
          method: req.method,
          url: req.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'Http',
      );
    }
    done();
  });
  return adapter;
}

/**
 * JSON bodies, where an empty one is `{}`: seed 002's client POSTs `Content-Type: application/json`
 * with no body, which Fastify refuses by default. Replacing Nest's JSON parser also keeps Nest from
 * adding its urlencoded one, so JSON is the only body the API takes (others get 415).
 */
export function acceptJsonBodies(app: NestFastifyApplication, config: GatewayConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  // Nest's own parser uses these settings: `__proto__` and `constructor` keys are refused.
  const parse = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<Server>('application/json', { bodyLimit: config.BODY_LIMIT_BYTES }, (req, body, done) => {
    if (body.length === 0) {
      done(null, {});
      return;
    }
    // The callback form: its result is undefined, and `done` gets the outcome.
    void parse(req, body.toString('utf8'), done);
  });
}
