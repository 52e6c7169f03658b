import type { ServiceName } from '../common/services';

/** Result of one dependency check inside a service. */
export interface DependencyCheck {
  /** true when the dependency answered within its deadline. */
  ok: boolean;
  /** Round-trip time of the check in milliseconds; absent when it failed before timing. */
  latencyMs?: number;
  /** Why the check failed; absent when ok. */
  error?: string;
}

/** Empty request for `<service>.health.ping`. */
export type HealthPingRequest = Record<string, never>;

/** Reply of `<service>.health.ping`. */
export interface HealthReport {
  service: ServiceName;
  /** `ok` when every check passed, otherwise `degraded`. */
  status: 'ok' | 'degraded';
  /** Seconds since the process started. */
  uptimeSeconds: number;
  /** Dependency name (`postgres`, `nats`, …) → its check. */
  checks: Record<string, DependencyCheck>;
}
