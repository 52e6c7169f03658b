import { eventually, randomName } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

const TIMEOUT_MS = 3000; // NATS_REQUEST_TIMEOUT_MS of the suite's gateway

describe('resilience: a dead service, a killed service, a restarted broker', () => {
  let suite: Suite;
  const name = randomName('res');

  beforeAll(async () => {
    suite = await Suite.start(['vm-operator', 'gateway']);
    expect(
      (await suite.request('POST', '/api/v1/templates', { body: { name, cpu_count: 1, ram_amount: 128 } }))
        .status,
    ).toBe(201);
  });

  afterAll(async () => {
    await suite?.dispose();
  });

  it('shuts vm-operator down cleanly on SIGTERM, then answers 503 within the timeout while it is down', async () => {
    const code = await suite.process('vm-operator').stop('SIGTERM');
    expect(code).toBe(0);
    expect(suite.process('vm-operator').output.some((l) => l.includes('"msg":"shutting down"'))).toBe(true);

    const started = Date.now();
    const res = await suite.request<{ code: string }>('GET', `/api/v1/templates/${name}`);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    await suite.startService('vm-operator');
  });

  it('recovers by itself after vm-operator is killed with SIGKILL and restarted', async () => {
    expect((await suite.request('GET', `/api/v1/templates/${name}`)).status).toBe(200);
    await suite.process('vm-operator').stop('SIGKILL');
    const down = await suite.request('GET', `/api/v1/templates/${name}`);
    expect([503, 504]).toContain(down.status);

    await suite.startService('vm-operator');
    const back = await eventually(
      async () => {
        const r = await suite.request('GET', `/api/v1/templates/${name}`);
        return r.status === 200 ? r : undefined;
      },
      15_000,
      'template readable again',
    );
    expect(back.body).toMatchObject({ name, cpu_count: 1 });
    expect(suite.process('gateway').running).toBe(true);
  });

  it('stops the gateway within its grace period on SIGTERM even with an event stream open', async () => {
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      expect(sse.status).toBe(200);
      const started = Date.now();
      expect(await suite.process('gateway').stop('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000 + 1000); // SHUTDOWN_GRACE_MS of the suite
    } finally {
      sse.close();
    }
    await suite.startService('gateway');
    expect((await suite.request('GET', `/api/v1/templates/${name}`)).status).toBe(200);
  });

  it('finishes a request in flight when the gateway gets SIGTERM, and refuses new ones meanwhile', async () => {
    const vmOperator = suite.process('vm-operator');
    vmOperator.child.kill('SIGSTOP'); // frozen: the gateway's request waits for its reply
    let resumed = false;
    try {
      const inFlight = suite.request('GET', `/api/v1/templates/${name}`);
      await new Promise((r) => setTimeout(r, 300));
      const stopping = suite.process('gateway').stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      vmOperator.child.kill('SIGCONT');
      resumed = true;
      expect((await inFlight).status).toBe(200);
      const code = await stopping;
      expect({ code, log: code === 0 ? [] : suite.process('gateway').output.slice(-15) }).toEqual({
        code: 0,
        log: [],
      });
    } finally {
      if (!resumed) vmOperator.child.kill('SIGCONT');
      await suite.startService('gateway');
    }
  });

  it('survives a broker restart: bounded errors while NATS is down, then service again without restarts', async () => {
    await suite.nats.stop();
    const started = Date.now();
    const during = await suite.request('GET', `/api/v1/templates/${name}`);
    expect([503, 504]).toContain(during.status);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);

    await suite.nats.restart();
    await eventually(
      async () =>
        (await suite.request('GET', `/api/v1/templates/${name}`)).status === 200 ? true : undefined,
      20_000,
      'service after broker restart',
    );
    // Writes and their events work again too.
    const after = randomName('after');
    expect(
      (
        await suite.request('POST', '/api/v1/templates', {
          body: { name: after, cpu_count: 1, ram_amount: 1 },
        })
      ).status,
    ).toBe(201);
    expect(suite.process('gateway').running && suite.process('vm-operator').running).toBe(true);
  });
});
