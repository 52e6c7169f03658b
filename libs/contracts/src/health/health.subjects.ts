import type { ServiceName } from '../common/services';

export type HealthSubject = `${ServiceName}.health.ping`;

/** `<service>.health.ping`, answered by every service in its queue group. */
export function healthSubject<S extends ServiceName>(service: S): `${S}.health.ping` {
  return `${service}.health.ping`;
}
