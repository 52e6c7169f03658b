import { join } from 'node:path';
import type { HttpSession, OpenImportOptions } from './import-source';
import type { NbdServer } from './nbd-server';
import { startNbdServer } from './nbd-server';
import { redactUrl } from './http-probe';

const DEFAULT_RENEW_SECONDS = 60;
/** nbdkit's retry filter waits 2 s, doubling: 5 retries span about a minute (its default). */
const FIRST_RETRY_SECONDS = 2;
/** A stalled request fails after this long, and the retry filter reconnects. */
const REQUEST_TIMEOUT_SECONDS = 300;

/** `'…'` for sh: nbdkit runs the cookie script with /bin/sh. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Enough retries that their back-off outlasts a cookie renewal: a request refused with a stale session
 * (HTTP 401) succeeds once nbdkit has run the cookie script again, which it does only when
 * `renewSeconds` have passed since the last run, never on a reconnection.
 */
export function retriesFor(renewSeconds: number): number {
  let retries = 0;
  for (let waited = 0; waited < renewSeconds + FIRST_RETRY_SECONDS * 8; retries++)
    waited += FIRST_RETRY_SECONDS * 2 ** retries;
  return Math.max(5, retries);
}

/**
 * One remote file as an NBD export: `nbdkit --exit-with-parent -U <dir>/<name>.sock -r --filter=retry
 * curl url=…`, with the session's cookie from a script that reads its file (so a renewed cookie is
 * used without restarting), its CA, https only (unless `allowHttp`), no redirects.
 */
export function serveUrl(
  url: string,
  session: HttpSession | undefined,
  allowHttp: boolean,
  where: { dir: string; name: string },
  options: OpenImportOptions,
): Promise<NbdServer> {
  const socket = join(where.dir, `${where.name}.sock`);
  const renew = session?.renewSeconds ?? DEFAULT_RENEW_SECONDS;
  const args = [
    '--exit-with-parent',
    '-U',
    socket,
    '--readonly',
    '--filter=retry',
    'curl',
    `url=${url}`,
    `protocols=${allowHttp ? 'http,https' : 'https'}`,
    'followlocation=false',
    `timeout=${REQUEST_TIMEOUT_SECONDS}`,
    `retries=${retriesFor(renew)}`,
    `retry-delay=${FIRST_RETRY_SECONDS}`,
  ];
  if (session?.cookieFile)
    args.push(`cookie-script=exec cat -- ${shellQuote(session.cookieFile)}`, `cookie-script-renew=${renew}`);
  if (session?.caFile) args.push(`cainfo=${session.caFile}`);
  return startNbdServer({
    name: `nbdkit (curl ${redactUrl(url)})`,
    command: options.nbdkit ?? 'nbdkit',
    args,
    socket,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
}
