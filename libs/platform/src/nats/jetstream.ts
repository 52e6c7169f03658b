import { Logger } from '@nestjs/common';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX } from '@ferry/contracts';
import type { NatsConnection, StreamConfig } from 'nats';
import { DiscardPolicy, NatsError, RetentionPolicy, StorageType } from 'nats';

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

/**
 * Creates FERRY_EVENTS if it does not exist; safe to call from every service at every start-up. An
 * existing stream is left as its operator configured it (retention, replicas), never overwritten.
 */
export async function ensureEventsStream(nc: NatsConnection, replicas = 1): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(EVENTS_STREAM);
    return;
  } catch (err) {
    if (!(err instanceof NatsError) || !/stream not found/i.test(err.message)) throw err;
  }
  const config: Partial<StreamConfig> = {
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 7 * DAY_NS,
    // Relays may republish an event after a crash; the window must outlast a relay restart.
    duplicate_window: 10 * 60 * 1_000_000_000,
    num_replicas: replicas,
  };
  try {
    await jsm.streams.add(config);
    new Logger('JetStream').log({ msg: 'created stream', stream: EVENTS_STREAM });
  } catch (err) {
    // Another service created it between our info() and add(): that is the idempotent outcome.
    if (err instanceof NatsError && /already in use/i.test(err.message)) return;
    throw err;
  }
}
