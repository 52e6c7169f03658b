import { randomUUID } from 'node:crypto';
import type { CloudEvent, EventDataMap, EventType, ServiceName } from '@ferry/contracts';
import { currentCorrelationId } from '../context/request-context';

/** Builds CloudEvents for one service: id, source, time and correlation id are filled in here. */
export class EventFactory {
  constructor(private readonly service: ServiceName) {}

  create<T extends EventType>(type: T, subject: string, data: EventDataMap[T]): CloudEvent<EventDataMap[T]> {
    const event: CloudEvent<EventDataMap[T]> = {
      specversion: '1.0',
      id: randomUUID(),
      source: `ferry/${this.service}`,
      type,
      subject,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data,
    };
    const correlationId = currentCorrelationId();
    if (correlationId) event.correlationid = correlationId;
    return event;
  }
}
