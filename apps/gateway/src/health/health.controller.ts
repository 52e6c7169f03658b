import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { DependencyCheck, HealthReport, ServiceName } from '@ferry/contracts';
import { SERVICE_NAMES, healthSubject } from '@ferry/contracts';
import { FerryClient, HealthService } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator, presentedCredential } from '../auth/credentials';
import { Public } from '../auth/roles';
import { GatewayConfig } from '../config/gateway.config';

export interface SuiteHealth {
  status: 'ok' | 'degraded';
  gateway: HealthReport;
  services: Partial<Record<ServiceName, HealthReport | { status: 'down'; error: string }>>;
}

/** What a caller without a key sees: a status per service, no error texts, no dependency details. */
export interface SuiteHealthSummary {
  status: 'ok' | 'degraded';
  gateway: { status: HealthReport['status'] };
  services: Partial<Record<ServiceName, { status: string }>>;
}

const CHECK_SCHEMA = {
  type: 'object',
  required: ['ok'],
  properties: {
    ok: { type: 'boolean' },
    latencyMs: { type: 'number' },
    error: { type: 'string', description: 'Why it failed (with a key only).' },
  },
};
const REPORT_SCHEMA = {
  type: 'object',
  required: ['status'],
  properties: {
    service: { type: 'string' },
    status: { type: 'string', enum: ['ok', 'degraded', 'down'] },
    uptimeSeconds: { type: 'number' },
    checks: {
      type: 'object',
      additionalProperties: CHECK_SCHEMA,
      description: 'postgres, nats, … (with a key only)',
    },
    error: { type: 'string', description: 'Why the service did not answer (with a key only).' },
  },
};
/** The body of GET /health, for the OpenAPI document (SuiteHealth, or SuiteHealthSummary without a key). */
const SUITE_HEALTH_SCHEMA = {
  type: 'object',
  required: ['status', 'gateway', 'services'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    gateway: REPORT_SCHEMA,
    services: { type: 'object', additionalProperties: REPORT_SCHEMA, description: 'By service name.' },
  },
};

/** How long a keyless answer is reused: however often it is called, at most one fan-out a second. */
const SUMMARY_TTL_MS = 1000;

/**
 * Health needs no key: load balancers and orchestrators call it. Without a valid key it answers the
 * summary only (a status per service), from one check a second at most; any valid key sees the whole
 * report with each dependency's error, checked afresh.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private summary: { at: number; result: Promise<SuiteHealth> } | null = null;

  constructor(
    private readonly client: FerryClient,
    private readonly health: HealthService,
    private readonly auth: Authenticator,
    private readonly config: GatewayConfig,
  ) {}

  /** Every service's ping plus the gateway's own Postgres and NATS; 503 when anything is down. */
  @Get()
  @ApiOperation({
    summary: 'Suite health',
    description:
      'Without a key: the status of the gateway and of each service, reused for up to a second. With any valid key: every dependency check and error text, checked afresh.',
    security: [],
  })
  @ApiOkResponse({
    description: 'Every service answered and every dependency is up.',
    schema: SUITE_HEALTH_SCHEMA,
  })
  @ApiServiceUnavailableResponse({
    description: 'Something is down; the body says what.',
    schema: SUITE_HEALTH_SCHEMA,
  })
  async suite(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SuiteHealth | SuiteHealthSummary> {
    const full = await this.authenticated(req);
    const result = full ? await this.check() : await this.cachedCheck();
    void reply.status(result.status === 'ok' ? 200 : 503);
    return full ? result : summarize(result);
  }

  private async authenticated(req: FastifyRequest): Promise<boolean> {
    const credential = presentedCredential(req);
    if (!credential) return false;
    return this.auth.principalOf(credential).then(
      () => true,
      () => false,
    );
  }

  private cachedCheck(): Promise<SuiteHealth> {
    const now = Date.now();
    if (!this.summary || now - this.summary.at > SUMMARY_TTL_MS)
      this.summary = { at: now, result: this.check() };
    return this.summary.result;
  }

  private async check(): Promise<SuiteHealth> {
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
    // No error texts here either: the probe needs the status, the operator has the logs and /health.
    const checks = Object.fromEntries(Object.entries(report.checks).map(([name, c]) => [name, { ok: c.ok }]));
    return { status: report.status, checks };
  }
}

function summarize(health: SuiteHealth): SuiteHealthSummary {
  return {
    status: health.status,
    gateway: { status: health.gateway.status },
    services: Object.fromEntries(
      Object.entries(health.services).map(([name, r]) => [name, { status: r.status }]),
    ),
  };
}
