import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { CloudEvent } from '@ferry/contracts';
import { eventually } from '@ferry/testing';

export interface SseMessage {
  id?: string;
  event?: string;
  data: CloudEvent;
}

/** A minimal EventSource over node:http that keeps every message it receives. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  status = 0;
  /** Set once the server has ended the stream (or the connection dropped). */
  ended = false;
  private response?: IncomingMessage;

  private constructor(private readonly req: ReturnType<typeof request>) {}

  static open(url: string, headers: Record<string, string>): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } });
      const client = new SseClient(req);
      req.on('response', (res) => {
        client.status = res.statusCode ?? 0;
        client.response = res;
        let buffer = '';
        res.setEncoding('utf8');
        res.on('close', () => (client.ended = true));
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            client.parse(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private parse(block: string): void {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
    }
    if (fields['data'] === undefined) return;
    this.messages.push({
      id: fields['id'],
      event: fields['event'],
      data: JSON.parse(fields['data']) as CloudEvent,
    });
  }

  waitFor(predicate: (m: SseMessage) => boolean, timeoutMs = 10_000): Promise<SseMessage> {
    return eventually(() => this.messages.find(predicate), timeoutMs, 'SSE message');
  }

  /** Resolves when the server ends the stream. */
  waitForEnd(timeoutMs = 10_000): Promise<true> {
    return eventually(() => (this.ended ? true : undefined), timeoutMs, 'the end of the SSE stream');
  }

  close(): void {
    this.response?.destroy();
    this.req.destroy();
  }
}
