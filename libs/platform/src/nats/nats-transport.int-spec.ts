import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import type { INestMicroservice } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { FerryError } from '@ferry/contracts';
import { TEST_NATS_URL, eventually } from '@ferry/testing';
import { IsInt, IsString, Min } from 'class-validator';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { loadConfig } from '../config/load-config';
import { PlatformConfig } from '../config/platform.config';
import { currentCorrelationId, currentSignal, runWithContext } from '../context/request-context';
import type { SendOptions } from './ferry-client';
import { FerryClient } from './ferry-client';
import { FerryNatsTransport } from './nats-transport';
import { RpcErrorFilter } from './rpc-exception.filter';
import { createValidationPipe } from './validation';

// Subjects unique to this run, so parallel runs on one NATS server never answer each other.
const P = `transport-test-${randomUUID().slice(0, 8)}`;
const S = {
  ECHO: `${P}.echo`,
  FAIL: `${P}.fail`,
  CRASH: `${P}.crash`,
  SLOW: `${P}.slow`,
  CORR: `${P}.corr`,
  WAIT: `${P}.wait`,
  BIG: `${P}.big`,
  HOLD: `${P}.hold`,
} as const;

/** What the WAIT handler saw: its caller's deadline passing, through currentSignal(). */
const waits: { aborted: boolean }[] = [];
/** HOLD handlers waiting to be let go. */
const held: (() => void)[] = [];

class EchoRequest {
  @IsString()
  text!: string;
  @IsInt()
  @Min(1)
  times!: number;
}

let releaseSlow: () => void = () => undefined;

@Controller()
class TestController {
  @MessagePattern(S.ECHO)
  echo(@Payload() req: EchoRequest): { text: string; isInstance: boolean } {
    return { text: req.text.repeat(req.times), isInstance: req instanceof EchoRequest };
  }
  @MessagePattern(S.FAIL)
  fail(): never {
    throw new FerryError('LOCKED', 'the inspector is busy', { state: 'running' });
  }
  @MessagePattern(S.CRASH)
  crash(): never {
    throw new Error('db password is hunter2');
  }
  @MessagePattern(S.SLOW)
  async slow(): Promise<{ done: true }> {
    await new Promise<void>((resolve) => (releaseSlow = resolve));
    return { done: true };
  }
  @MessagePattern(S.CORR)
  corr(): { correlationId?: string } {
    return { correlationId: currentCorrelationId() };
  }
  @MessagePattern(S.WAIT)
  async wait(): Promise<{ aborted: boolean }> {
    const signal = currentSignal();
    const seen = { aborted: false };
    waits.push(seen);
    await new Promise<void>((resolve) => {
      if (!signal) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    seen.aborted = signal?.aborted ?? false;
    return seen;
  }
  @MessagePattern(S.BIG)
  big(): { text: string } {
    return { text: 'x'.repeat(2 * 1024 * 1024) };
  }
}

/** Served by a transport of its own that takes 2 requests at once. */
@Controller()
class HoldController {
  @MessagePattern(S.HOLD)
  async hold(): Promise<{ done: true }> {
    await new Promise<void>((resolve) => held.push(resolve));
    return { done: true };
  }
}

type UntypedSend = (subject: string, request: unknown, options?: SendOptions) => Promise<unknown>;

describe('FerryNatsTransport and FerryClient (real NATS)', () => {
  let app: INestMicroservice;
  let serverConn: NatsConnection;
  let clientConn: NatsConnection;
  let send: UntypedSend;

  async function startServer(): Promise<INestMicroservice> {
    const moduleRef = await Test.createTestingModule({ controllers: [TestController] }).compile();
    const transport = new FerryNatsTransport('transport-test', 5000);
    serverConn = await connect({ servers: TEST_NATS_URL });
    transport.useConnection(serverConn);
    const ms = moduleRef.createNestMicroservice({ strategy: transport, logger: false });
    ms.useGlobalPipes(createValidationPipe());
    ms.useGlobalFilters(new RpcErrorFilter());
    await ms.listen();
    // listen() has sent SUB, not seen the server take it: a request from another connection could
    // still find no responder. A flush round-trips after it.
    await serverConn.flush();
    return ms;
  }

  beforeAll(async () => {
    app = await startServer();
    clientConn = await connect({ servers: TEST_NATS_URL });
    const client = new FerryClient(
      clientConn,
      loadConfig(PlatformConfig, { NATS_REQUEST_TIMEOUT_MS: '2000' }),
    );
    send = client.send.bind(client) as unknown as UntypedSend;
  });

  afterAll(async () => {
    releaseSlow();
    await app?.close();
    await serverConn?.close();
    await clientConn?.close();
  });

  it('delivers a validated, transformed DTO and returns the reply', async () => {
    await expect(send(S.ECHO, { text: 'ab', times: 3 })).resolves.toEqual({
      text: 'ababab',
      isInstance: true,
    });
  });

  it('rejects invalid and unknown fields with VALIDATION naming each field', async () => {
    const err = (await send(S.ECHO, { text: 1, times: 0, extra: true }).catch(
      (e: unknown) => e,
    )) as FerryError;
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe('VALIDATION');
    const fields = (err.details?.['fields'] as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['extra', 'text', 'times']);
  });

  it('keeps the code, message and details of a domain error', async () => {
    await expect(send(S.FAIL, {})).rejects.toMatchObject({
      code: 'LOCKED',
      message: 'the inspector is busy',
      details: { state: 'running' },
    });
  });

  it('turns an unknown error into INTERNAL without echoing it', async () => {
    const err = (await send(S.CRASH, {}).catch((e: unknown) => e)) as FerryError;
    expect(err.code).toBe('INTERNAL');
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('hunter2');
  });

  it('fails fast with UNAVAILABLE when nobody serves the subject', async () => {
    const started = Date.now();
    await expect(send(`${P}.nobody`, {}, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out with TIMEOUT at the deadline', async () => {
    await expect(send(S.SLOW, {}, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    releaseSlow();
  });

  it('aborts the handler’s signal when its caller’s deadline passes, and sends no late answer', async () => {
    await expect(send(S.WAIT, {}, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await eventually(() => (waits[0]?.aborted ? true : undefined), 5000, 'the handler saw the abort');
  });

  it('turns an answer larger than the broker accepts into a clear error, not a silent timeout', async () => {
    const err = (await send(S.BIG, {}, { timeoutMs: 5000 }).catch((e: unknown) => e)) as FerryError;
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe('UNPROCESSABLE');
    expect(err.message).toMatch(/exceeds the broker's payload limit/);
  });

  it('answers UNAVAILABLE at once past NATS_MAX_CONCURRENT_REQUESTS, and serves again when work ends', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [HoldController] }).compile();
    const transport = new FerryNatsTransport(`${P}-busy`, 5000, 2);
    const conn = await connect({ servers: TEST_NATS_URL });
    transport.useConnection(conn);
    const busy = moduleRef.createNestMicroservice({ strategy: transport, logger: false });
    await busy.listen();
    await conn.flush();
    try {
      const first = [send(S.HOLD, {}, { timeoutMs: 10_000 }), send(S.HOLD, {}, { timeoutMs: 10_000 })];
      await eventually(() => (held.length === 2 ? true : undefined), 5000, 'two requests held');
      await expect(send(S.HOLD, {}, { timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/busy with 2 requests/) as unknown,
      });
      for (const release of held.splice(0)) release();
      await expect(Promise.all(first)).resolves.toEqual([{ done: true }, { done: true }]);
      const again = send(S.HOLD, {}, { timeoutMs: 10_000 });
      await eventually(() => (held.length === 1 ? true : undefined), 5000, 'served again');
      held.splice(0).forEach((release) => release());
      await expect(again).resolves.toEqual({ done: true });
    } finally {
      held.splice(0).forEach((release) => release());
      await busy.close();
      await conn.close();
    }
  });

  it('carries the caller correlation id into the handler', async () => {
    const reply = await runWithContext({ correlationId: 'corr-123' }, () => send(S.CORR, {}));
    expect(reply).toEqual({ correlationId: 'corr-123' });
  });

  it('on close, stops taking work but finishes the request in flight', async () => {
    const inFlight = send(S.SLOW, {}, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    // New work is refused (nobody is subscribed any more)...
    await expect(send(S.ECHO, { text: 'a', times: 1 }, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    // ...while close waits for the request that was already running, which still gets its reply.
    expect(closed).toBe(false);
    releaseSlow();
    await expect(inFlight).resolves.toEqual({ done: true });
    await closing;
  });
});
