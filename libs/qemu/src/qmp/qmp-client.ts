import { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';

/** An asynchronous QMP event, e.g. SHUTDOWN, POWERDOWN, DEVICE_DELETED. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** A QMP command that QEMU answered with `{"error": {class, desc}}`. */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** The socket closed (QEMU exited, was killed, or closed the monitor) before an answer came. */
export class QmpClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpClosedError';
  }
}

export interface QmpConnectOptions {
  /** Limit of the greeting and of `qmp_capabilities`, in ms; default 5 s. */
  timeoutMs?: number;
  /** Destroys the socket; `connect` rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Told when the socket is connected (now waiting for the greeting) and when QEMU greeted, so a
   * caller with its own deadline can say what it waited for.
   */
  onStage?: (stage: 'greeting' | 'capabilities') => void;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** A monitor that talks more than this without a newline is not one we understand. */
const MAX_BUFFER = 4 * 1024 * 1024;

/**
 * A QMP connection over QEMU's unix socket. Commands carry an `id`, so replies are matched even when
 * events arrive in between (QEMU sends SHUTDOWN before the reply to `quit`, for example). Emits
 * `event` for every QMP event and `close` when the socket goes away (QEMU exited or was killed).
 */
export class QmpClient extends EventEmitter {
  private readonly pending = new Map<string, Pending>();
  private buffer = '';
  private next = 0;
  private closed = false;
  /** Why this side destroyed the socket (a line that is not JSON, or too long). */
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', () => undefined); // 'close' follows and fails what is pending
  }

  /**
   * Connects, reads the greeting and leaves capabilities negotiation mode. Before the greeting, a
   * socket error rejects as it is (its `code`: ENOENT, ECONNREFUSED, ...) and a close as
   * QmpClosedError; the socket is destroyed on every failure.
   */
  static async connect(path: string, options: number | QmpConnectOptions = {}): Promise<QmpClient> {
    const {
      timeoutMs = DEFAULT_TIMEOUT_MS,
      signal,
      onStage,
    } = typeof options === 'number' ? { timeoutMs: options } : options;
    if (signal?.aborted) throw signal.reason;
    const socket = createConnection(path);
    let cleanup = (): void => undefined;
    const greeting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no QMP greeting on ${path} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => reject(signal?.reason);
      const onClose = () => reject(new QmpClosedError(`QMP socket ${path} closed before its greeting`));
      cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('close', onClose);
        socket.off('error', reject);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => onStage?.('greeting'));
      socket.once('data', () => resolve());
      socket.once('error', reject);
      socket.once('close', onClose);
    });
    try {
      await greeting;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      cleanup();
    }
    onStage?.('capabilities');
    // The greeting is consumed above; everything after it goes through the line parser.
    const client = new QmpClient(socket);
    const onAbort = () => client.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.execute('qmp_capabilities', undefined, timeoutMs);
    } catch (err) {
      client.close();
      throw signal?.aborted ? signal.reason : err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new QmpClosedError(`QMP socket closed; cannot run ${command}`));
    const id = `ferry-${this.next++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${command} got no QMP answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(
        JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n',
      );
    });
  }

  /** Resolves with the first event named `name` that satisfies `match`, or rejects after `timeoutMs`. */
  waitForEvent(name: string, match: (e: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: QmpEvent) => {
        if (e.event !== name || !match(e)) return;
        cleanup();
        resolve(e);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`QMP socket closed while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.once('close', onClose);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_BUFFER) return this.fail(new Error('QMP sent a line over 4 MiB'));
    let end: number;
    while (!this.failure && (end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end).trim();
      this.buffer = this.buffer.slice(end + 1);
      if (!line) continue;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return this.fail(new Error(`QMP sent something that is not JSON: ${line.slice(0, 100)}`));
      }
      this.onMessage(message);
    }
  }

  /** A monitor we cannot understand: what is pending rejects with `err` when the socket closes. */
  private fail(err: Error): void {
    this.failure = err;
    this.socket.destroy();
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg['event'] === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = msg['id'];
    const p = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!p) return;
    this.pending.delete(id as string);
    clearTimeout(p.timer);
    const error = msg['error'] as { class?: string; desc?: string } | undefined;
    if (error)
      p.reject(new QmpError(p.command, error.class ?? 'GenericError', error.desc ?? 'unknown error'));
    else p.resolve(msg['return']);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      // `quit` is answered by QEMU exiting; that is its success.
      if (p.command === 'quit') p.resolve({});
      else p.reject(this.failure ?? new QmpClosedError(`QMP socket closed during ${p.command}`));
      this.pending.delete(id);
    }
    this.emit('close');
  }
}
