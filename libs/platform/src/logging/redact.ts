/** Keys whose values never reach a log line, whatever their nesting. */
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential|cookie|private[-_]?key/i;
/** Ferry API keys look like `fry_<id>_<secret>`; they are scrubbed even inside free text. */
const API_KEY_IN_TEXT = /fry_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g;

/** `scheme://user:password@host` in connection strings: the password goes. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;

export const REDACTED = '[REDACTED]';

/** A key whose value is a secret (a password, a token, an API key…), at any nesting. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redactText(text: string): string {
  return text.replace(API_KEY_IN_TEXT, 'fry_' + REDACTED).replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** A deep copy of `value` with secret-looking keys replaced; cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (value instanceof Date) return value.toISOString();
  if (depth > 8 || seen.has(value)) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}
