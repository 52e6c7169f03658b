import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  acceptCorrelationId,
  closeOnSignals,
  createValidationPipe,
  migrateIfAsked,
  prepare,
  runMain,
  runWithContext,
} from '@ferry/platform';
import { AppModule } from './app.module';
import { GatewayConfig } from './config/gateway.config';
import { GATEWAY_DATABASE } from './database/gateway.database';
import { setupOpenApi } from './openapi';

async function main(): Promise<void> {
  const { config, logger } = prepare('gateway', GatewayConfig);
  if (await migrateIfAsked('gateway', GATEWAY_DATABASE, config, logger)) return;
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: (req: IncomingMessage) =>
      acceptCorrelationId(req.headers['x-request-id'] as string | undefined),
    return503OnClosing: true,
  });
  const fastify = adapter.getInstance();
  // Every request runs in its own context, so logs and NATS headers carry its id.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    runWithContext({ correlationId: req.id }, done);
  });
  // A keep-alive connection that is busy when shutdown starts would otherwise stay open after its
  // response and hold the server's close() until the client times it out.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
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
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    logger,
  });
  app.setGlobalPrefix('api/v1');
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  closeOnSignals(app, config.SHUTDOWN_GRACE_MS, logger);
  await app.listen(config.PORT, config.HOST);
  logger.log({ msg: 'ready', url: `http://${config.HOST}:${config.PORT}/api/v1` }, 'Bootstrap');
}

runMain('gateway', main);
