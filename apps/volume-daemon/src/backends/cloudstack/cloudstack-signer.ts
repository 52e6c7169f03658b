import { createHmac } from 'node:crypto';

/**
 * CloudStack API request signing, written to match what the management server checks
 * (`ApiServer.verifyRequest`), not what its documentation paraphrases:
 *
 *  1. every parameter except `signature` (so `apiKey`, `command`, `response`, ... too) is taken;
 *  2. names are sorted with Java's `Collections.sort`, i.e. case-SENSITIVELY by UTF-16 code unit
 *     (`Zeta` before `alpha`, `apiKey` before `api_x`); sorting by lowercased name, as the docs suggest,
 *     yields a different string whenever names differ in case, and the server then answers 401;
 *  3. each value is encoded as `URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")`; the name is
 *     used as is;
 *  4. `name=value` pairs are joined with `&` and the whole string is lowercased;
 *  5. HMAC-SHA1 with the secret key, Base64.
 *
 * The Python client (`cs`) agrees on all of this except `~`: it uses `urllib.parse.quote(safe="*")`,
 * which leaves `~` alone where Java writes `%7E`, so its signatures of values with `~` are refused by
 * the server. We follow Java.
 */

/** Parameters of one request; the caller adds `apiKey`, `command` and `response`. */
export type CloudStackParams = Readonly<Record<string, string>>;

/** Bytes that `java.net.URLEncoder` leaves as they are: A-Z a-z 0-9 . - * _ (space becomes `+`). */
function isJavaUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2e || // .
    byte === 0x2d || // -
    byte === 0x2a || // *
    byte === 0x5f // _
  );
}

/**
 * `URLEncoder.encode(value, "UTF-8")` with `+` replaced by `%20`: everything outside A-Z a-z 0-9 . - * _
 * is percent-encoded as UTF-8 bytes with uppercase hex. Unlike `encodeURIComponent` it encodes
 * `~ ! ' ( )` and keeps `*`.
 */
export function encodeCloudStackValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += isJavaUnreserved(byte)
      ? String.fromCharCode(byte)
      : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Names in the order the server sorts them (Java `String.compareTo`: UTF-16 code units). */
function sortedNames(params: CloudStackParams): string[] {
  return Object.keys(params)
    .filter((name) => name.toLowerCase() !== 'signature')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The lowercased string that is signed; exported for tests and debugging (it holds the API key). */
export function cloudStackStringToSign(params: CloudStackParams): string {
  return sortedNames(params)
    .map((name) => `${name}=${encodeCloudStackValue(params[name] ?? '')}`)
    .join('&')
    .toLowerCase();
}

/** The Base64 HMAC-SHA1 signature of `params` with `secretKey`, as CloudStack computes it. */
export function cloudStackSignature(params: CloudStackParams, secretKey: string): string {
  return createHmac('sha1', Buffer.from(secretKey, 'utf8'))
    .update(cloudStackStringToSign(params), 'utf8')
    .digest('base64');
}

/**
 * The query string to send: the same pairs in the same order with the same encoding (names encoded
 * too, which the servlet decodes), not lowercased, followed by `&signature=<encoded signature>`.
 */
export function signedCloudStackQuery(params: CloudStackParams, secretKey: string): string {
  const pairs = sortedNames(params).map(
    (name) => `${encodeCloudStackValue(name)}=${encodeCloudStackValue(params[name] ?? '')}`,
  );
  pairs.push(`signature=${encodeCloudStackValue(cloudStackSignature(params, secretKey))}`);
  return pairs.join('&');
}
