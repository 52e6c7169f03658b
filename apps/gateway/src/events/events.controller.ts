import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator, presentedCredential } from '../auth/credentials';
import { viewFor } from '../auth/role-view';
import { GatewayConfig } from '../config/gateway.config';
import { ApiErrors } from '../http/api-errors.decorator';
import type { EventSubscription } from './event-stream.service';
import { EventStreamService } from './event-stream.service';
import { EventsQuery } from './events.query';

const HEARTBEAT_MS = 15_000;

function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw FerryError.validation('invalid Last-Event-ID', [
      { field: 'Last-Event-ID', messages: ['must be a stream sequence number'] },
    ]);
  }
  return Number(value);
}

@ApiTags('events')
@Controller('events')
export class EventsController {
  private readonly openPerKey = new Map<string, number>();

  constructor(
    private readonly events: EventStreamService,
    private readonly auth: Authenticator,
    private readonly config: GatewayConfig,
  ) {}

  /** Server-Sent Events: each `data:` is a CloudEvent, each `id:` its stream sequence. */
  @Get()
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id.' })
  @ApiOkResponse({
    description:
      "An endless text/event-stream of CloudEvents, each shown as the key's role sees the resource in REST (image paths only to admins). The stream ends when its key is revoked. 429 past EVENTS_MAX_STREAMS_PER_KEY open streams.",
  })
  @ApiErrors(400, 401, 429, 503)
  async stream(
    @Query() query: EventsQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const afterSeq = parseLastEventId(lastEventId);
    const principal = req.principal!;
    const presented = presentedCredential(req)!;
    const open = this.openPerKey.get(principal.keyId) ?? 0;
    if (open >= this.config.EVENTS_MAX_STREAMS_PER_KEY) {
      void reply.header('retry-after', '5');
      throw new FerryError(
        'RATE_LIMITED',
        `this key has ${open} event streams open already (EVENTS_MAX_STREAMS_PER_KEY); close one first`,
        { retryAfterSeconds: 5 },
      );
    }
    this.openPerKey.set(principal.keyId, open + 1);
    const release = once(() => {
      const n = (this.openPerKey.get(principal.keyId) ?? 1) - 1;
      if (n > 0) this.openPerKey.set(principal.keyId, n);
      else this.openPerKey.delete(principal.keyId);
    });
    let sub: EventSubscription;
    try {
      // Subscribe before the 200 goes out, so that a failure is still a problem+json response.
      sub = await this.events.subscribe({ typePrefix: query.type, subject: query.subject, afterSeq });
    } catch (err) {
      release();
      throw err;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    });
    raw.write('retry: 2000\n: connected\n\n');
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    // The key is checked again while the stream runs: a revoked key's stream ends. A database that is
    // down does not end it (authenticate answers UNAVAILABLE, not UNAUTHENTICATED).
    const recheck = setInterval(() => {
      this.auth.principalOf(presented).catch((err: FerryError) => {
        if (err.code !== 'UNAUTHENTICATED') return;
        raw.write('event: revoked\ndata: {"detail":"the API key was revoked, or the session ended"}\n\n');
        sub.close();
      });
    }, this.recheckMs());
    raw.on('close', () => sub.close());
    try {
      for await (const streamed of sub) {
        const { seq } = streamed;
        const event = { ...streamed.event, data: viewFor(principal.role, streamed.event.data) };
        if (!raw.write(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)) {
          await new Promise((resolve) => {
            raw.once('drain', resolve);
            raw.once('close', resolve);
          });
        }
      }
    } finally {
      clearInterval(heartbeat);
      clearInterval(recheck);
      release();
      sub.close();
      raw.end();
    }
  }

  /** As often as a verified key is trusted without a look-up, between 1 and 30 s. */
  private recheckMs(): number {
    return Math.min(30_000, Math.max(1000, this.config.API_KEY_CACHE_TTL_MS));
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
