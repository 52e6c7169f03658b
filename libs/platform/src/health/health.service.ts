import type { DependencyCheck, HealthReport, ServiceName } from '@ferry/contracts';
import type { NatsConnection } from 'nats';
import type { DataSource } from 'typeorm';
import { withTimeout } from '../common/with-timeout';

const CHECK_TIMEOUT_MS = 2000;
const started = Date.now();

export async function timedCheck(
  probe: () => Promise<unknown>,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<DependencyCheck> {
  const t0 = performance.now();
  try {
    await withTimeout(probe(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return { ok: true, latencyMs: Math.round((performance.now() - t0) * 100) / 100 };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** What a service reports about itself on `<service>.health.ping` (and the gateway on /health). */
export class HealthService {
  constructor(
    private readonly service: ServiceName,
    private readonly ds: DataSource,
    private readonly nc: NatsConnection,
  ) {}

  async report(): Promise<HealthReport> {
    const [postgres, nats] = await Promise.all([
      timedCheck(() => this.ds.query('SELECT 1')),
      timedCheck(() => this.nc.rtt()),
    ]);
    const checks = { postgres, nats };
    return {
      service: this.service,
      status: postgres.ok && nats.ok ? 'ok' : 'degraded',
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      checks,
    };
  }
}
