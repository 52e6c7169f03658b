import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JsonLogger } from '@ferry/platform';
import type { FastifyReply } from 'fastify';
import type { GatewayConfig } from '../config/gateway.config';

/** Where `npm run build` puts the console (dist/console), seen from this compiled file. */
const BUILT_CONSOLE = resolve(__dirname, '../../../../console');

/** The page may load only its own scripts and styles, and no other site may frame it. */
const CONSOLE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The web console (apps/console) as static files at `/`: one route per file that exists at start-up
 * (no wildcard), so every other path keeps the API's problem+json 404. Views live in the URL's hash.
 */
export function serveConsole(app: NestFastifyApplication, config: GatewayConfig, logger: JsonLogger): void {
  const root = config.CONSOLE_DIR || BUILT_CONSOLE;
  if (!existsSync(join(root, 'index.html'))) {
    logger.warn(
      { msg: 'the web console is not built; / serves nothing (npm run build makes it)', root },
      'Console',
    );
    return;
  }
  app.useStaticAssets({
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // @fastify/static passes its Fastify reply here (Nest's type says a Node response: it is not).
    setHeaders: (res) => {
      void (res as unknown as FastifyReply).headers(CONSOLE_HEADERS);
    },
  });
}
