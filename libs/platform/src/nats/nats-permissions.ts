import type { ServiceName } from '@ferry/contracts';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, SERVICE_CALLS, SERVICE_NAMES } from '@ferry/contracts';

/** A service's private reply subjects: `_INBOX_<service>.…`; no other user may subscribe to them. */
export function inboxPrefixOf(service: ServiceName): string {
  return `_INBOX_${service}`;
}

/** The environment variable nats.conf reads a service's password from, e.g. `VM_OPERATOR_NATS_PASSWORD`. */
export function natsPasswordVariable(service: ServiceName): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_NATS_PASSWORD`;
}

/** Every service's outbox relay: look FERRY_EVENTS up and create it idempotently. */
const EVENTS_STREAM_API = [
  '$JS.API.INFO',
  `$JS.API.STREAM.INFO.${EVENTS_STREAM}`,
  `$JS.API.STREAM.CREATE.${EVENTS_STREAM}`,
];

/** The gateway's `GET /events`: an ordered, ephemeral pull consumer on FERRY_EVENTS per client. */
const EVENTS_CONSUMER_API = [
  `$JS.API.CONSUMER.CREATE.${EVENTS_STREAM}`,
  `$JS.API.CONSUMER.CREATE.${EVENTS_STREAM}.>`,
  `$JS.API.CONSUMER.DELETE.${EVENTS_STREAM}.>`,
  `$JS.API.CONSUMER.INFO.${EVENTS_STREAM}.>`,
  `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.>`,
  `$JS.ACK.${EVENTS_STREAM}.>`,
];

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
  /** May answer the requests it receives (on the caller's reply subject only). */
  allowResponses: boolean;
}

/**
 * What the broker lets `service` do: publish the requests it calls (SERVICE_CALLS) and its own events,
 * use the JetStream API its outbox (and the gateway's event streams) need, and subscribe to the
 * subjects it serves and its own inbox. The gateway serves nothing over NATS.
 */
export function natsPermissions(service: ServiceName): NatsPermissions {
  const serves = service !== 'gateway';
  return {
    publish: [
      ...[...SERVICE_CALLS[service]].sort(),
      `${EVENTS_SUBJECT_PREFIX}.${service}.>`,
      ...EVENTS_STREAM_API,
      ...(serves ? [] : EVENTS_CONSUMER_API),
    ],
    subscribe: [...(serves ? [`${service}.>`] : []), `${inboxPrefixOf(service)}.>`],
    allowResponses: serves,
  };
}

const list = (subjects: string[]) => subjects.map((s) => `            "${s}"`).join('\n');

/** deploy/nats/permissions.conf: one user per service with natsPermissions(service). */
export function natsPermissionsConf(): string {
  const users = SERVICE_NAMES.map((service) => {
    const p = natsPermissions(service);
    return [
      '    {',
      `      user: ${service}, password: $${natsPasswordVariable(service)}`,
      '      permissions: {',
      '        publish: {',
      '          allow: [',
      list(p.publish),
      '          ]',
      '        }',
      '        subscribe: {',
      '          allow: [',
      list(p.subscribe),
      '          ]',
      '        }',
      ...(p.allowResponses ? ['        allow_responses: true'] : []),
      '      }',
      '    }',
    ].join('\n');
  });
  return [
    '# Generated from SERVICE_CALLS (libs/contracts) by `npm run --silent gen:nats-permissions`: do not edit.',
    '# Each service may publish only the requests it calls and its own events, and subscribe only to the',
    "# subjects it serves and its own inbox (_INBOX_<service>.>), so no service reads another's replies.",
    'authorization {',
    '  users: [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
}
