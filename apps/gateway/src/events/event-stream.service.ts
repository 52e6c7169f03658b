import type { BeforeApplicationShutdown } from '@nestjs/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CloudEvent } from '@ferry/contracts';
import { EVENTS_STREAM, FerryError, filterSubjectForTypePrefix } from '@ferry/contracts';
import { NATS_CONNECTION, withTimeout } from '@ferry/platform';
import type { ConsumerMessages, NatsConnection } from 'nats';
import { DeliverPolicy } from 'nats';
import { GatewayConfig } from '../config/gateway.config';

export interface EventFilter {
  typePrefix?: string;
  subject?: string;
  /** Resume after this stream sequence (SSE Last-Event-ID); otherwise only new events. */
  afterSeq?: number;
}

export interface StreamedEvent {
  seq: number;
  event: CloudEvent;
}

/** One client's view of FERRY_EVENTS: iterate it, close it when the client goes. */
export class EventSubscription implements AsyncIterable<StreamedEvent> {
  constructor(
    private readonly messages: ConsumerMessages,
    private readonly filter: EventFilter,
    private readonly onClose: () => void,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<StreamedEvent> {
    for await (const m of this.messages) {
      const event = m.json<CloudEvent>();
      if (this.filter.typePrefix && !event.type.startsWith(this.filter.typePrefix)) continue;
      if (this.filter.subject !== undefined && event.subject !== this.filter.subject) continue;
      yield { seq: m.seq, event };
    }
  }

  close(): void {
    this.onClose();
    void this.messages.stop();
  }
}

/**
 * Follows FERRY_EVENTS with an ordered, ephemeral consumer per client, narrowed on the server to the
 * whole tokens of the type prefix. The stream sequence is the SSE id, so a client resumes exactly.
 */
@Injectable()
export class EventStreamService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EventStreamService.name);
  private readonly open = new Set<EventSubscription>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly config: GatewayConfig,
  ) {}

  async subscribe(filter: EventFilter): Promise<EventSubscription> {
    let messages: ConsumerMessages;
    const timeoutMs = this.config.NATS_REQUEST_TIMEOUT_MS;
    try {
      const consumer = await this.nc.jetstream().consumers.get(EVENTS_STREAM, {
        // A string, not an array: an array becomes `filter_subjects`, which nats-server 2.9 ignores
        // and the client then waits forever for the consumer.
        filterSubjects: filterSubjectForTypePrefix(filter.typePrefix),
        ...(filter.afterSeq !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: filter.afterSeq + 1 }
          : { deliver_policy: DeliverPolicy.New }),
      });
      messages = await withTimeout(
        consumer.consume(),
        timeoutMs,
        () => new Error(`no consumer within ${timeoutMs} ms`),
      );
    } catch (err) {
      this.logger.warn({ msg: 'cannot follow events', error: (err as Error).message });
      throw new FerryError('UNAVAILABLE', 'the event stream is not available');
    }
    const sub: EventSubscription = new EventSubscription(messages, filter, () => this.open.delete(sub));
    this.open.add(sub);
    return sub;
  }

  /** Ends every open stream so that the HTTP server can close. */
  beforeApplicationShutdown(): void {
    for (const sub of [...this.open]) sub.close();
  }
}
