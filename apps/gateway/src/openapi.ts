import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document at /api/openapi.json and its UI at /api/docs, generated from the DTOs. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Ferry')
    .setDescription(
      'Control plane for moving VMs off vSphere onto KVM/QEMU. Errors are application/problem+json (RFC 9457) ' +
        'with a `code`. Send `Authorization: Bearer <api key>`; reads need viewer, changes operator, key management admin. ' +
        'POSTs that create resources accept an `Idempotency-Key` header. /health needs no key.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'fry_<id>_<secret>' })
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/openapi.json',
    useGlobalPrefix: false,
  });
}
