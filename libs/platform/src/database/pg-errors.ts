/**
 * Errors that mean "Postgres could not be reached or went away", as opposed to "the query was wrong":
 * the caller should retry later (UNAVAILABLE, 503 with Retry-After), and Ferry has no bug to log.
 *
 * - SQLSTATE class 08 (connection exception), 57P01/57P02/57P03 (admin or crash shutdown, "the
 *   database system is starting up"), 53300 (too many connections);
 * - the socket errors node reports while connecting or mid-query;
 * - the messages pg and pg-pool throw without a code: a connection terminated under a query, a
 *   client that already saw a connection error, a pool whose connect timed out;
 * - TypeORM's QueryRunnerAlreadyReleasedError, which a query runner becomes once its connection
 *   died (TypeORM releases it on the connection's 'error').
 * TypeORM wraps driver errors in QueryFailedError with the original as `driverError`: both are read.
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const MESSAGES = [
  /^Connection terminated/,
  /connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /timeout exceeded when trying to connect/,
  /^Connection is not established/,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/,
];

export function isPgUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    if (name === 'QueryRunnerAlreadyReleasedError') return true;
    if (typeof code === 'string' && (code.startsWith('08') || SQLSTATES.has(code) || SOCKET_CODES.has(code)))
      return true;
    if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
    // AggregateError (a host with IPv4 and IPv6 addresses refused on both), then TypeORM's wrapper.
    const inner = (e as { errors?: unknown[] }).errors?.[0] ?? (e as { driverError?: unknown }).driverError;
    e = inner ?? (e as { cause?: unknown }).cause;
  }
  return false;
}
