import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '@ferry/contracts';
import { EVENTS_STREAM } from '@ferry/contracts';
import { NatsServerProcess, TEST_NATS_URL, createTestDatabase, eventually } from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { ensureEventsStream } from '../nats/jetstream';
import type { OutboxRelayOptions } from './outbox-relay';
import { OutboxRelay } from './outbox-relay';
import { OutboxRepository } from './outbox.repository';
import { createSchemaWithOutbox } from './outbox.schema';
import { createServiceDataSource, runMigrations } from './service-database';
import { Transactional } from './transactional';

const SCHEMA = 'relay_test';

class RelayTestInit1700000000000 implements MigrationInterface {
  name = 'RelayTestInit1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, SCHEMA);
    await q.query(`CREATE TABLE ${SCHEMA}.things (id text PRIMARY KEY)`);
  }
  async down(): Promise<void> {}
}

function testEvent(resource: string): CloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'ferry/vm-operator',
    type: `ferry.relaytest.${resource}.created`,
    subject: resource,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { resource },
  };
}

describe('outbox relay (real Postgres, real JetStream)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let nc: NatsConnection;
  const outbox = new OutboxRepository(SCHEMA);
  const relays: OutboxRelay[] = [];

  function newRelay(afterPublish?: OutboxRelayOptions['afterPublish']): OutboxRelay {
    const relay = new OutboxRelay(ds, nc, outbox, { pollMs: 50, streamReplicas: 1, afterPublish });
    relays.push(relay);
    return relay;
  }

  /** How many messages FERRY_EVENTS stores on exactly this subject. */
  async function storedOn(subject: string): Promise<number> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  async function commitWithEvent(event: CloudEvent, relay: OutboxRelay): Promise<void> {
    await new Transactional(ds, outbox, relay).run(async (uow) => {
      await uow.em.query(`INSERT INTO ${SCHEMA}.things (id) VALUES ($1)`, [event.subject]);
      await uow.emit(event);
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource(
      { schema: SCHEMA, entities: [], migrations: [RelayTestInit1700000000000] },
      { url: db.url, poolSize: 4, applicationName: 'relay-test' },
    );
    await ds.initialize();
    await runMigrations(ds, SCHEMA);
    nc = await connect({ servers: TEST_NATS_URL });
    await ensureEventsStream(nc);
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await ds?.destroy();
    await nc?.close();
    await db?.drop();
  });

  it('publishes a committed change once the relay runs, marks it sent, and keeps the CloudEvent intact', async () => {
    const relay = newRelay();
    const event = testEvent(`r${randomUUID().slice(0, 8)}`);
    // The relay is not running: the commit lands, the publish has not happened yet.
    await commitWithEvent(event, relay);
    const subject = `events.relaytest.${event.subject}.created`;
    expect(await storedOn(subject)).toBe(0);

    relay.start();
    await eventually(
      async () => ((await storedOn(subject)) === 1 ? true : undefined),
      10_000,
      'event in stream',
    );
    await eventually(
      async () => ((await outbox.countPending(ds)) === 0 ? true : undefined),
      5000,
      'row marked sent',
    );

    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
    expect(stored.header.get('Nats-Msg-Id')).toBe(event.id);
    expect(stored.json<CloudEvent>()).toEqual(event);
  });

  it('publishes exactly once when the relay dies after the PubAck but before marking the row sent', async () => {
    const event = testEvent(`k${randomUUID().slice(0, 8)}`);
    const subject = `events.relaytest.${event.subject}.created`;
    const dying = newRelay(() => {
      throw new Error('relay killed between publish and commit');
    });
    await commitWithEvent(event, dying);

    await expect(dying.publishBatch()).rejects.toThrow(/relay killed/);
    expect(await storedOn(subject)).toBe(1);
    expect(await outbox.countPending(ds)).toBe(1);

    // A new relay (the restarted process) publishes the row again; JetStream drops the duplicate.
    const restarted = newRelay();
    restarted.start();
    await eventually(
      async () => ((await outbox.countPending(ds)) === 0 ? true : undefined),
      10_000,
      'row marked sent',
    );
    expect(await storedOn(subject)).toBe(1);
  });

  it('publishes nothing for a rolled-back transaction', async () => {
    const relay = newRelay();
    relay.start();
    const event = testEvent(`b${randomUUID().slice(0, 8)}`);
    await expect(
      new Transactional(ds, outbox, relay).run(async (uow) => {
        await uow.emit(event);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    relay.kick();
    await new Promise((r) => setTimeout(r, 300));
    expect(await storedOn(`events.relaytest.${event.subject}.created`)).toBe(0);
    expect(await outbox.countPending(ds)).toBe(0);
  });

  it('keeps committed events through a broker outage and publishes them when it is back', async () => {
    const broker = await NatsServerProcess.start();
    const nc2 = await connect({ servers: broker.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      await ensureEventsStream(nc2);
      const relay = new OutboxRelay(ds, nc2, outbox, { pollMs: 50, streamReplicas: 1 });
      relays.push(relay);
      await broker.stop();
      const event = testEvent(`o${randomUUID().slice(0, 8)}`);
      await commitWithEvent(event, relay);
      relay.start();
      await new Promise((r) => setTimeout(r, 500));
      expect(await outbox.countPending(ds)).toBe(1); // still there, not lost, not marked

      await broker.restart();
      await eventually(
        async () => ((await outbox.countPending(ds)) === 0 ? true : undefined),
        20_000,
        'published after outage',
      );
      const jsm = await nc2.jetstreamManager();
      const subject = `events.relaytest.${event.subject}.created`;
      const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
      expect(info.state.subjects?.[subject]).toBe(1);
      await relay.stop();
    } finally {
      await nc2.close();
      await broker.dispose();
    }
  });

  it('lets two relays share one outbox without sending a row twice', async () => {
    const events = Array.from({ length: 40 }, () => testEvent(`p${randomUUID().slice(0, 8)}`));
    const idle = newRelay();
    for (const e of events) await commitWithEvent(e, idle);
    const a = newRelay();
    const b = newRelay();
    a.start();
    b.start();
    await eventually(
      async () => ((await outbox.countPending(ds)) === 0 ? true : undefined),
      10_000,
      'all rows sent',
    );
    const counts = await Promise.all(events.map((e) => storedOn(`events.relaytest.${e.subject}.created`)));
    expect(counts).toEqual(events.map(() => 1));
  });
});
