import type { ServiceName } from '../common/services';

/** JetStream stream that holds every Ferry event. */
export const EVENTS_STREAM = 'FERRY_EVENTS';
/** Subjects of FERRY_EVENTS: `events.<service>.<resource>.<event>`. */
export const EVENTS_SUBJECT_PREFIX = 'events';

/** A CloudEvents 1.0 envelope in structured JSON mode. */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** Unique id; also the JetStream `Nats-Msg-Id`, so consumers deduplicate on it. */
  id: string;
  /** `ferry/<service>`. */
  source: `ferry/${ServiceName}`;
  /** `ferry.<service>.<resource>.<event>`, the event in the past tense. */
  type: string;
  /** Id of the entity the event is about. */
  subject: string;
  /** RFC 3339 time the state change was committed. */
  time: string;
  datacontenttype: 'application/json';
  /** Extension: the request id that caused the change, if any. */
  correlationid?: string;
  data: T;
}

/** `ferry.vm-operator.template.created` → `events.vm-operator.template.created`. */
export function eventSubjectOf(type: string): string {
  if (!type.startsWith('ferry.')) throw new Error(`event type must start with "ferry.": ${type}`);
  return `${EVENTS_SUBJECT_PREFIX}.${type.slice('ferry.'.length)}`;
}

/**
 * The narrowest JetStream filter subject that still matches every type starting with `prefix`.
 * Only whole tokens narrow the filter; a partial last token is matched by the caller in process.
 */
export function filterSubjectForTypePrefix(prefix: string | undefined): string {
  const all = `${EVENTS_SUBJECT_PREFIX}.>`;
  if (!prefix) return all;
  const tokens = prefix.split('.');
  if (tokens[0] !== 'ferry') return all;
  // The last token is either partial or empty (a trailing dot), so it never narrows the filter.
  const complete = tokens.slice(1, -1);
  if (complete.length === 0 || complete.some((t) => t === '' || t === '*' || t === '>')) return all;
  return `${EVENTS_SUBJECT_PREFIX}.${complete.join('.')}.>`;
}
