import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpSession } from './import-source';
import { ImportSourceError } from './import-source';

/** A URL as errors show it: no user, no query (vSphere's carry none, but signed URLs do), no fragment. */
export function redactUrl(url: string | URL): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * `relative` (a descriptor's extent or parent) against the URL of the file naming it, with that URL's
 * query kept: vSphere's `/folder/<path>?dcPath=…&dsName=…` needs it on every file of the datastore.
 */
export function resolveUrl(relative: string, base: string): string {
  const resolved = new URL(relative, base);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(relative)) resolved.search = new URL(base).search;
  return resolved.toString();
}

export interface HttpTarget {
  url: string;
  session?: HttpSession;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

/** One request with the session's cookie and CA; the body is read up to `maxBody` bytes, then cut. */
async function send(target: HttpTarget, method: string, headers: Record<string, string>, maxBody = 0) {
  const cookie = target.session?.cookieFile
    ? (
        await readFile(target.session.cookieFile, 'utf8').catch(() => {
          throw new ImportSourceError(
            'unauthorized',
            `cannot read the session's cookie file ${target.session!.cookieFile}`,
          );
        })
      ).trim()
    : undefined;
  const caFile = target.session?.caFile;
  const ca = caFile
    ? await readFile(caFile).catch(() => {
        throw new ImportSourceError(
          'unreachable',
          `cannot read the CA file ${caFile}, so no server can be trusted`,
        );
      })
    : undefined;
  const request = new URL(target.url).protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      target.url,
      {
        method,
        headers: { ...headers, ...(cookie && { cookie }) },
        ...(ca && { ca }),
        timeout: target.timeoutMs,
        signal: target.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          if (length < maxBody) chunks.push(chunk);
          length += chunk.length;
          if (length >= maxBody) res.destroy();
        });
        const done = () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        res.once('end', done);
        res.once('close', done);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${target.timeoutMs} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (target.signal?.aborted) return reject(err);
      const what = TLS_CODES.test(err.code ?? '') ? `TLS: ${err.message}` : (err.code ?? err.message);
      reject(new ImportSourceError('unreachable', `cannot reach ${redactUrl(target.url)}: ${what}`));
    });
    req.end();
  });
}

/** An answer that is not a success as an ImportSourceError (none for 2xx). */
function refusal(
  status: number,
  target: HttpTarget,
  headers: IncomingMessage['headers'],
): ImportSourceError | null {
  const url = redactUrl(target.url);
  if (status >= 200 && status < 300) return null;
  if (status === 401 || status === 403)
    return new ImportSourceError(
      'unauthorized',
      `the server refused the session (HTTP ${status}) for ${url}`,
    );
  if (status === 404 || status === 410)
    return new ImportSourceError('not-found', `no such file (HTTP ${status}): ${url}`);
  if (status >= 300 && status < 400)
    return new ImportSourceError(
      'unsupported',
      `${url} redirects (HTTP ${status}) to ${headers.location ?? '?'}, which is not followed`,
    );
  return new ImportSourceError('unreachable', `the server answered HTTP ${status} for ${url}`);
}

export interface RemoteFile {
  sizeBytes: number;
  /** The first bytes (up to `headBytes`), fetched with a ranged GET, which proves Range works. */
  head: Buffer;
}

/**
 * What nbdkit's curl plugin needs before it is started, asked the same way it will ask (the cookie,
 * the CA): a HEAD with a Content-Length and `Accept-Ranges: bytes` (nbdkit 1.32 refuses a server
 * without), then a ranged GET of the first `headBytes` that must answer 206. A server that refuses
 * HEAD gets a 1-byte ranged GET, which tells a missing file or a refused session from the rest.
 */
export async function probeRemoteFile(target: HttpTarget, headBytes: number): Promise<RemoteFile> {
  const url = redactUrl(target.url);
  const head = await send(target, 'HEAD', {});
  if (head.status === 405 || head.status === 501) {
    const one = await send(target, 'GET', { range: 'bytes=0-0' }, 1);
    throw (
      refusal(one.status, target, one.headers) ??
      new ImportSourceError(
        'unsupported',
        `${url} refuses HEAD (HTTP ${head.status}), which nbdkit's curl plugin needs`,
      )
    );
  }
  const refused = refusal(head.status, target, head.headers);
  if (refused) throw refused;
  const sizeBytes = Number(head.headers['content-length']);
  if (!Number.isSafeInteger(sizeBytes) || head.headers['content-length'] === undefined)
    throw new ImportSourceError('unsupported', `${url} gives no Content-Length`);
  if (!/\bbytes\b/i.test(String(head.headers['accept-ranges'] ?? '')))
    throw new ImportSourceError('unsupported', `${url} does not answer HEAD with Accept-Ranges: bytes`);
  const length = Math.min(headBytes, sizeBytes);
  if (length === 0) return { sizeBytes, head: Buffer.alloc(0) };
  return { sizeBytes, head: await fetchRange(target, 0, length) };
}

/** Bytes `[offset, offset + length)` with a ranged GET; `unsupported` when the server ignores Range. */
export async function fetchRange(target: HttpTarget, offset: number, length: number): Promise<Buffer> {
  const answer = await send(target, 'GET', { range: `bytes=${offset}-${offset + length - 1}` }, length);
  const refused = refusal(answer.status, target, answer.headers);
  if (refused) throw refused;
  if (answer.status !== 206)
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(target.url)} ignores Range (HTTP ${answer.status} to a ranged GET)`,
    );
  return answer.body.subarray(0, length);
}
