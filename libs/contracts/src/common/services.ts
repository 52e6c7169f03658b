/** Every Ferry service. The name is also its NATS queue group and the `source` of its events. */
export const SERVICE_NAMES = [
  'gateway',
  'inspector',
  'vm-operator',
  'volume-daemon',
  'cleanup',
  'host-capability',
  'observer',
] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The Postgres schema each service owns. No other service reads or writes it. */
export const SERVICE_SCHEMAS: Readonly<Record<ServiceName, string>> = {
  gateway: 'gateway',
  inspector: 'inspector',
  'vm-operator': 'vm_operator',
  'volume-daemon': 'volume',
  cleanup: 'cleanup',
  'host-capability': 'host_capability',
  observer: 'observer',
};

/** NATS header that carries the correlation id of the request that caused a message. */
export const CORRELATION_HEADER = 'X-Correlation-Id';

/**
 * NATS header with the caller's deadline, as milliseconds from when the request was sent (relative,
 * so that clocks that disagree between hosts cannot drop requests): the handler's signal is aborted
 * when it passes, and an answer ready after it is not sent.
 */
export const TIMEOUT_HEADER = 'Ferry-Timeout-Ms';
