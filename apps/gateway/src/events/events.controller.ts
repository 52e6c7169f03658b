import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { FerryError } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
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
  constructor(private readonly events: EventStreamService) {}

  /** Server-Sent Events: each `data:` is a CloudEvent, each `id:` its stream sequence. */
  @Get()
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id.' })
  @ApiOkResponse({ description: 'An endless text/event-stream of CloudEvents.' })
  @ApiErrors(400, 401, 503)
  async stream(
    @Query() query: EventsQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const afterSeq = parseLastEventId(lastEventId);
    // Subscribe before the 200 goes out, so that a failure is still a problem+json response.
    const sub = await this.events.subscribe({ typePrefix: query.type, subject: query.subject, afterSeq });
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
    raw.on('close', () => sub.close());
    try {
      for await (const { seq, event } of sub) {
        if (!raw.write(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)) {
          await new Promise((resolve) => {
            raw.once('drain', resolve);
            raw.once('close', resolve);
          });
        }
      }
    } finally {
      clearInterval(heartbeat);
      sub.close();
      raw.end();
    }
  }
}
