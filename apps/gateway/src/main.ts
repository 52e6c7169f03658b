import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeOnSignals, createValidationPipe, migrateIfAsked, prepare, runMain } from '@ferry/platform';
import { AppModule } from './app.module';
import { GatewayConfig } from './config/gateway.config';
import { GATEWAY_DATABASE } from './database/gateway.database';
import { serveConsole } from './http/console';
import { acceptJsonBodies, createGatewayAdapter } from './http/http-server';
import { setupOpenApi } from './openapi';

async function main(): Promise<void> {
  const { config, logger } = prepare('gateway', GatewayConfig);
  if (await migrateIfAsked('gateway', GATEWAY_DATABASE, config, logger)) return;
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    createGatewayAdapter(config, logger),
    { logger },
  );
  app.setGlobalPrefix('api/v1');
  app.useGlobalPipes(createValidationPipe());
  acceptJsonBodies(app, config);
  setupOpenApi(app);
  serveConsole(app, config, logger);
  closeOnSignals(app, config.SHUTDOWN_GRACE_MS, logger);
  await app.listen(config.PORT, config.HOST);
  logger.log({ msg: 'ready', url: `http://${config.HOST}:${config.PORT}/api/v1` }, 'Bootstrap');
}

runMain('gateway', main);
