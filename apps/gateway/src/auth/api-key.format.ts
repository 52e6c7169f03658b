import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PATTERN = /^fry_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `fry_<12 alphanumerics>_<43 base64url chars of 32 random bytes>`. */
export function generateApiKey(): { id: string; key: string } {
  const bytes = randomBytes(12);
  const id = Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
  return { id, key: `fry_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The public id of a well-formed key, or undefined. */
export function parseApiKeyId(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/** Keys are 256-bit random, so a fast hash is enough; there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
