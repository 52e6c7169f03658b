import type { CloudEvent } from '@ferry/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type { OutboxRelay } from './outbox-relay';
import type { OutboxRepository } from './outbox.repository';

/** A transaction that can record events: they commit or roll back together with the change. */
export interface UnitOfWork {
  readonly em: EntityManager;
  emit(event: CloudEvent): Promise<void>;
  /** Records many events in one statement. */
  emitAll(events: CloudEvent[]): Promise<void>;
}

/** Runs work in one transaction; events emitted in it go to the outbox, and the relay is woken after commit. */
export class Transactional {
  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
  ) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    let emitted = false;
    const result = await this.ds.transaction((em) =>
      work({
        em,
        emit: async (event) => {
          emitted = true;
          await this.outbox.add(em, event);
        },
        emitAll: async (events) => {
          if (events.length === 0) return;
          emitted = true;
          await this.outbox.addMany(em, events);
        },
      }),
    );
    if (emitted) this.relay.kick();
    return result;
  }
}
