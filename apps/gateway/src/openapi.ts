import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/**
 * Routes served at the root besides their /api/v1 one (see http-server.ts): seed 004's clients call
 * `/health`. The document lists them too, as the same operation.
 */
const ROOT_ROUTES = [{ path: '/health', of: '/api/v1/health' }] as const;

function addRootRoutes(document: OpenAPIObject): void {
  for (const { path, of } of ROOT_ROUTES) {
    const get = document.paths[of]?.get;
    if (!get) throw new Error(`OpenAPI: ${of} has no GET to serve at ${path}`);
    document.paths[path] = {
      get: {
        ...get,
        operationId: `${get.operationId ?? 'root'}_root`,
        description: `The same as \`GET ${of}\`, at the root as seed 004 serves it.`,
      },
    };
  }
}

/** The OpenAPI document, generated from the controllers and DTOs (also offline: tools/gen-console-api.js). */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Ferry')
    .setDescription(
      'Control plane for moving VMs off vSphere onto KVM/QEMU. Every error, including a request the HTTP server ' +
        'refuses before any route (malformed JSON 400, unknown route 404, body too large 413, a path segment over ' +
        '256 characters 414, a body that is not JSON 415, headers too large 431), is application/problem+json ' +
        '(RFC 9457) with a `code`; every 503 carries `Retry-After`. Bodies are JSON; an empty body with ' +
        '`Content-Type: application/json` is `{}`. Send `Authorization: Bearer <api key>`; reads need viewer ' +
        "(a VM's serial console needs operator: it can show what was typed at a login prompt), changes " +
        'operator, key management admin. POSTs that create resources accept an `Idempotency-Key` header. ' +
        '/health (also at the root) needs no key. This document is also at /openapi.yaml.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'fry_<id>_<secret>' })
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  addRootRoutes(document);
  return document;
}

/**
 * The OpenAPI document: JSON at /api/openapi.json, the same document in YAML at /openapi.yaml (where
 * seed 004 serves it), and its UI at /api/docs.
 */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('api/docs', app, openApiDocument(app), {
    jsonDocumentUrl: 'api/openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    useGlobalPrefix: false,
  });
}
