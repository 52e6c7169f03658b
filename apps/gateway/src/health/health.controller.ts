import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { DependencyCheck, HealthReport, ServiceName } from '@ferry/contracts';
import { SERVICE_NAMES, healthSubject } from '@ferry/contracts';
import { FerryClient, HealthService } from '@ferry/platform';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles';
import { GatewayConfig } from '../config/gateway.config';

export interface SuiteHealth {
  status: 'ok' | 'degraded';
  gateway: HealthReport;
  services: Partial<Record<ServiceName, HealthReport | { status: 'down'; error: string }>>;
}

/** Health needs no key: load balancers and orchestrators call it. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly client: FerryClient,
    private readonly health: HealthService,
    private readonly config: GatewayConfig,
  ) {}

  /** Every service's ping plus the gateway's own Postgres and NATS; 503 when anything is down. */
  @Get()
  @ApiOperation({ summary: 'Suite health', security: [] })
  @ApiOkResponse({ description: 'Every service answered and every dependency is up.' })
  @ApiServiceUnavailableResponse({ description: 'Something is down; the body says what.' })
  async suite(@Res({ passthrough: true }) reply: FastifyReply): Promise<SuiteHealth> {
    const others = SERVICE_NAMES.filter((s): s is Exclude<ServiceName, 'gateway'> => s !== 'gateway');
    const [gateway, ...reports] = await Promise.all([
      this.health.report(),
      ...others.map((s) =>
        this.client
          .send(healthSubject(s), {}, { timeoutMs: this.config.HEALTH_TIMEOUT_MS })
          .catch((err: Error) => ({ status: 'down' as const, error: err.message })),
      ),
    ]);
    const services = Object.fromEntries(others.map((s, i) => [s, reports[i]]));
    const ok = gateway.status === 'ok' && reports.every((r) => r.status === 'ok');
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', gateway, services };
  }

  /** The process is up; nothing else is checked (Kubernetes liveness). */
  @Get('live')
  @ApiOperation({ summary: 'Liveness', security: [] })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The gateway's own Postgres and NATS (Kubernetes readiness). */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness', security: [] })
  async ready(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; checks: Record<string, DependencyCheck> }> {
    const report = await this.health.report();
    void reply.status(report.status === 'ok' ? 200 : 503);
    return { status: report.status, checks: report.checks };
  }
}
