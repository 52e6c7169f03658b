import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { runCommand } from '@ferry/platform';

export interface HttpsFileServerOptions {
  /** Files are served from here by URL path; the query is ignored unless `requireQuery`. */
  root: string;
  /** The Cookie header every request must carry, exactly (401 otherwise); unset: none. See `acceptCookie`. */
  cookie?: string;
  /** The query string every request must carry, exactly (404 otherwise), as vSphere's `?dcPath=&dsName=`. */
  requireQuery?: string;
  /** Body bytes per second of each response; unset: unthrottled. */
  bytesPerSecond?: number;
  /** Cuts the connection once, in the middle of a body, when this many body bytes have gone out in all. */
  dropOnceAfterBytes?: number;
  /** Waits this long before answering each request, as a distant server does; unset: none. */
  latencyMs?: number;
  /** Answers HEAD with 405, as some servers do. */
  refuseHead?: boolean;
  /** Answers a ranged GET with 200 and the whole file, as a server without Range support does. */
  ignoreRange?: boolean;
}

export interface ServedRequest {
  method: string;
  path: string;
  range?: string;
  cookie?: string;
  status: number;
}

const CHUNK = 64 * 1024;

/**
 * A small HTTPS file server for tests of streaming readers (nbdkit's curl plugin, qemu's https driver):
 * HEAD, single ranges, a required cookie that can change while it runs, throttling and one cut
 * connection. Its certificate is self-signed for 127.0.0.1 (`caFile`).
 */
export class HttpsFileServer {
  readonly requests: ServedRequest[] = [];
  /** Body bytes sent so far. */
  bytesSent = 0;
  /** Whether the one connection cut of `dropOnceAfterBytes` happened. */
  dropped = false;
  private cookie: string | undefined;
  private readonly watchers: { atBytes: number; fn: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    private readonly options: HttpsFileServerOptions,
    /** PEM of the server's certificate, to trust. */
    readonly caFile: string,
  ) {
    this.cookie = options.cookie;
  }

  static async start(options: HttpsFileServerOptions): Promise<HttpsFileServer> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-https-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await runCommand(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      30_000,
    );
    const server = createServer({ key: await readFile(key), cert: await readFile(cert) });
    const self = new HttpsFileServer(server, dir, options, cert);
    server.on('request', (req, res) => void self.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  /** `https://127.0.0.1:<port>/<path>`. */
  url(path: string): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/${path}`;
  }

  /** From now on only this cookie is accepted. */
  acceptCookie(cookie: string): void {
    this.cookie = cookie;
  }

  /** Calls `fn` once, as soon as `atBytes` body bytes have gone out. */
  whenSent(atBytes: number, fn: () => void): void {
    this.watchers.push({ atBytes, fn });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const entry: ServedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      range: req.headers.range,
      cookie: req.headers.cookie,
      status: 0,
    };
    this.requests.push(entry);
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    const reply = (status: number, headers: Record<string, string | number> = {}) => {
      entry.status = status;
      res.writeHead(status, headers);
    };
    const refuse = (status: number, headers: Record<string, string | number> = {}) => {
      reply(status, headers);
      res.end();
    };
    if (this.cookie !== undefined && req.headers.cookie !== this.cookie) return refuse(401);
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    const query = url.search.replace(/^\?/, '');
    if (rel.split(sep).includes('..')) return refuse(404);
    if (this.options.requireQuery !== undefined && query !== this.options.requireQuery) return refuse(404);
    const file = await open(join(this.options.root, rel)).catch(() => undefined);
    if (!file) return refuse(404);
    try {
      const size = (await file.stat()).size;
      if (req.method === 'HEAD')
        return this.options.refuseHead
          ? refuse(405)
          : refuse(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      const range = this.options.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      let [start, end] = [0, size - 1];
      if (range) {
        start = Number(range[1]);
        // Clipped at the end: nbdkit 1.32's curl plugin asks for one byte past what it reads.
        end = Math.min(range[2] ? Number(range[2]) : size - 1, size - 1);
        if (start >= size) return refuse(416, { 'content-range': `bytes */${size}` });
        reply(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
      } else reply(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      await this.send(file, start, end + 1, res);
    } finally {
      await file.close();
    }
  }

  private async send(file: FileHandle, from: number, to: number, res: ServerResponse): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    for (let at = from; at < to && !res.destroyed;) {
      const { bytesRead } = await file.read(buf, 0, Math.min(CHUNK, to - at), at);
      if (bytesRead === 0) break;
      const limit = this.options.dropOnceAfterBytes;
      if (limit !== undefined && !this.dropped && this.bytesSent + bytesRead >= limit) {
        this.dropped = true;
        res.socket?.destroy();
        return;
      }
      at += bytesRead;
      this.bytesSent += bytesRead;
      const drained = res.write(buf.subarray(0, bytesRead));
      for (const w of this.watchers.filter((w) => this.bytesSent >= w.atBytes)) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.fn();
      }
      if (!drained)
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      // Throttling is the point of the option (a slow link), not a wait for another party.
      if (this.options.bytesPerSecond)
        await new Promise((resolve) =>
          setTimeout(resolve, (bytesRead / this.options.bytesPerSecond!) * 1000),
        );
    }
    res.end();
  }
}
