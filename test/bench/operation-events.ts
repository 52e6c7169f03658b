// The gateway's event stream of volume operations (/api/v1/events over SSE), followed by the benches
// that time them: when each operation's first progress and its end arrived.
import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import type { CloudEvent, VolumeOperationDto } from '@ferry/contracts';
import { withTimeout } from './load';

/** How an operation ended, and when its event arrived (performance.now()). */
export interface OperationEnd {
  at: number;
  op: VolumeOperationDto;
}

/**
 * Follows volume operations on the gateway's event stream and resolves the moment the event of their
 * end arrives. Waiting on the stream rather than polling GET /volume-operations/{id} is what a client
 * that wants to know promptly does, and it is the more faithful measurement: a tight poll would put
 * its own gateway → NATS → volume-daemon → Postgres round trips on the very services doing the work
 * and round the result up to the poll interval, while the stream adds only the real notification
 * path (the outbox relay, woken on commit, and JetStream). SseClient.waitFor is not used because it
 * checks every 50 ms.
 */
export class OperationEvents {
  /** When the first `operation.progress` of each operation arrived (performance.now()). */
  readonly firstProgress = new Map<string, number>();
  /** The end (completed, failed or cancelled) of each operation. */
  readonly ended = new Map<string, OperationEnd>();
  private readonly waiters = new Map<string, () => void>();

  private constructor(private readonly req: ClientRequest) {}

  /** Opens `url` (/api/v1/events with its filters) with API key `key`; resolves once it answered. */
  static open(url: string, key: string): Promise<OperationEvents> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` },
        agent: false,
      });
      const events = new OperationEvents(req);
      req.on('response', (res) => {
        if (res.statusCode !== 200) return reject(new Error(`event stream answered ${res.statusCode}`));
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            events.parse(buffer.slice(0, end), at);
            buffer = buffer.slice(end + 2);
          }
        });
        resolve(events);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private parse(block: string, at: number): void {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) return;
    const event = JSON.parse(data) as CloudEvent<{ operationId?: string; operation?: VolumeOperationDto }>;
    if (event.type === 'ferry.volume-daemon.operation.progress' && event.data.operationId) {
      if (!this.firstProgress.has(event.data.operationId)) this.firstProgress.set(event.data.operationId, at);
      return;
    }
    const op = event.data.operation;
    if (!op || !['completed', 'failed', 'cancelled'].includes(op.status)) return;
    this.ended.set(op.id, { at, op });
    this.waiters.get(op.id)?.();
  }

  /** Resolves with the end of operation `id`, however it ended; rejects after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number): Promise<OperationEnd> {
    if (!this.ended.has(id))
      await withTimeout(
        new Promise<void>((resolve) => this.waiters.set(id, resolve)),
        timeoutMs,
        `the end of operation ${id}`,
      ).finally(() => this.waiters.delete(id));
    return this.ended.get(id)!;
  }

  close(): void {
    this.req.destroy();
  }
}
