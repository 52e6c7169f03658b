import { EVENTS_STREAM } from '@ferry/contracts';
import { NatsServerProcess } from '@ferry/testing';
import { connect } from 'nats';
import { ensureEventsStream } from './jetstream';

describe('ensureEventsStream (real JetStream)', () => {
  let server: NatsServerProcess;

  beforeAll(async () => {
    // A private broker: the test needs a server on which FERRY_EVENTS does not exist yet.
    server = await NatsServerProcess.start();
  });

  afterAll(async () => {
    await server?.dispose();
  });

  it('creates the stream once when many services start together, and leaves an existing one as it is', async () => {
    const conns = await Promise.all(Array.from({ length: 5 }, () => connect({ servers: server.url })));
    try {
      await Promise.all(conns.map((nc) => ensureEventsStream(nc)));
      const jsm = await conns[0]!.jetstreamManager();
      const info = await jsm.streams.info(EVENTS_STREAM);
      expect(info.config.subjects).toEqual(['events.>']);
      expect(info.config.duplicate_window).toBe(10 * 60 * 1_000_000_000);

      // An operator's change (longer retention) survives the next start-up.
      await jsm.streams.update(EVENTS_STREAM, { ...info.config, max_age: 30 * 24 * 60 * 60 * 1_000_000_000 });
      await ensureEventsStream(conns[1]!);
      expect((await jsm.streams.info(EVENTS_STREAM)).config.max_age).toBe(30 * 24 * 60 * 60 * 1_000_000_000);
      expect((await jsm.streams.names().next()).filter((n) => n === EVENTS_STREAM)).toHaveLength(1);
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
    }
  });
});
