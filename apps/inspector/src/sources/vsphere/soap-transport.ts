import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { SourceFatalError } from '../source';

export interface SoapRequest {
  /** The SOAPAction header: `urn:vim25/<apiVersion>`. */
  action: string;
  body: string;
  /** `vmware_soap_session=…`, as the server set it, or null before login. */
  cookie: string | null;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface SoapResponse {
  status: number;
  body: string;
  /** A new `vmware_soap_session=…` pair when the server set one. */
  cookie: string | null;
}

/** Carries one SOAP request. The HTTPS one below; tests inject stubs. */
export interface SoapTransport {
  send(request: SoapRequest): Promise<SoapResponse>;
  close(): void;
}

export const SESSION_COOKIE = 'vmware_soap_session';
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** `https://vc` → `https://vc/sdk`: the SDK endpoint when the URL names no path. */
export function sdkUrl(url: string): URL {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/sdk';
  u.username = '';
  u.password = '';
  return u;
}

/** The session cookie among Set-Cookie headers, as `name=value` (the value keeps its quotes). */
export function sessionCookie(setCookie: readonly string[] | undefined): string | null {
  for (const header of setCookie ?? []) {
    const pair = header.split(';')[0]!.trim();
    if (pair.startsWith(`${SESSION_COOKIE}=`)) return pair;
  }
  return null;
}

/** What a caller is told of a vCenter that gave no answer: no more, so the inspector scans no ports. */
export const VCENTER_UNREACHABLE = 'vCenter unreachable';

/**
 * Why a request got no answer, as the fatal `unreachable` error the runner stops on: the message is
 * VCENTER_UNREACHABLE, the socket's code and the why (refused, DNS, TLS, timeout) are for the log.
 */
export function unreachable(target: URL, err: unknown, timeoutMs: number): SourceFatalError {
  const code = (err as { code?: string }).code ?? '';
  const where = `vCenter at ${target.origin}`;
  const fail = (fault: string | undefined, detail: string) =>
    new SourceFatalError('unreachable', VCENTER_UNREACHABLE, fault, detail);
  if (err instanceof RequestTimeout) return fail('Timeout', `${where} did not answer within ${timeoutMs} ms`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ERR_TLS|ERR_SSL|DEPTH_ZERO|HOSTNAME_MISMATCH/.test(code)) {
    return fail(
      code,
      `${where} has a certificate this inspector does not trust (${code}); set INSPECTOR_VSPHERE_CA_FILE to its CA`,
    );
  }
  const detail =
    code && !(err as Error).message.includes(code)
      ? `${code} ${(err as Error).message}`
      : (err as Error).message;
  return fail(code || undefined, `${where} is unreachable: ${detail}`);
}

/**
 * Any failure before vCenter answered in SOAP (no answer, an answer that is no vSphere SDK's, an
 * abort) as VCENTER_UNREACHABLE, its why kept for the log: telling them apart would tell the caller
 * what listens at the URL.
 */
export function notReached(err: unknown): SourceFatalError {
  if (err instanceof SourceFatalError && err.kind === 'unreachable') return err;
  const detail = err instanceof SourceFatalError ? (err.detail ?? err.message) : String(err);
  const fault = err instanceof SourceFatalError ? err.fault : undefined;
  return new SourceFatalError('unreachable', VCENTER_UNREACHABLE, fault, detail);
}

class RequestTimeout extends Error {}

/**
 * SOAP over Node's http(s) with keep-alive. `ca`: PEM of the CAs to trust instead of the system's;
 * `insecure`: accept any certificate; `lookup`: resolves host names (VcenterPolicy's, which keeps to
 * INSPECTOR_VCENTER_ALLOWLIST). Rejects with SourceFatalError('unreachable') when no answer comes
 * (refused, DNS, TLS, timeout) and with the signal's reason when aborted.
 */
export function httpTransport(
  target: URL,
  tls: { ca?: string; insecure?: boolean } = {},
  lookup?: LookupFunction,
): SoapTransport {
  const secure = target.protocol === 'https:';
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 8,
        ca: tls.ca || undefined,
        rejectUnauthorized: !tls.insecure,
      })
    : new http.Agent({ keepAlive: true, maxSockets: 8 });
  const request = secure ? https.request : http.request;

  const send = (req: SoapRequest): Promise<SoapResponse> =>
    new Promise((resolve, reject) => {
      req.signal?.throwIfAborted();
      const headers: Record<string, string | number> = {
        'content-type': 'text/xml; charset=utf-8',
        'content-length': Buffer.byteLength(req.body),
        soapaction: req.action,
      };
      if (req.cookie) headers['cookie'] = req.cookie;
      const hostname = target.hostname.replace(/^\[|\]$/g, '');
      const options = { agent, method: 'POST', hostname, headers, ...(lookup ? { lookup } : {}) };
      const r = request({
        ...options,
        port: target.port || undefined,
        path: target.pathname + target.search,
      });
      let settled = false;
      const finish = (err: unknown, res?: SoapResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (res) resolve(res);
        else if (req.signal?.aborted) reject(req.signal.reason);
        else reject(err instanceof SourceFatalError ? err : unreachable(target, err, req.timeoutMs));
      };
      const onAbort = () => r.destroy(new Error('aborted'));
      const timer = setTimeout(() => r.destroy(new RequestTimeout()), req.timeoutMs);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => finish(err));
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            const err = new SourceFatalError('other', `vCenter's answer exceeds ${MAX_RESPONSE_BYTES} bytes`);
            finish(err);
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () =>
          finish(null, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            cookie: sessionCookie(res.headers['set-cookie']),
          }),
        );
      });
      r.end(req.body);
    });

  return { send, close: () => agent.destroy() };
}
