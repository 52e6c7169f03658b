import createClient from 'openapi-fetch';
import type { Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/** A problem+json body (RFC 9457), as every error of the API is. */
export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { field: string; messages: string[] }[];
}

/** What to say about a failed request: the problem's detail, with each invalid field. */
export function problemText(error: unknown): string {
  const p = error as Problem | undefined;
  if (!p || typeof p !== 'object') return 'the request failed';
  const fields = p.errors?.map((e) => `${e.field}: ${e.messages.join(', ')}`).join('; ');
  return [p.detail ?? p.title ?? 'the request failed', fields].filter(Boolean).join(' — ');
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => undefined;

/** The session's CSRF token, held in memory only (never in storage), sent with every change. */
export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the gateway answers 401: the session ended (signed out elsewhere, expired, revoked). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !request.url.endsWith('/api/v1/session')) onSignedOut();
    return response;
  },
};

/** The typed client: paths and bodies come from the gateway's OpenAPI document (schema.d.ts). */
export const api = createClient<paths>({
  // The page's own origin: the API is where the console is served from.
  baseUrl: globalThis.location?.origin ?? '',
  credentials: 'same-origin',
  // Looked up at each call (openapi-fetch would keep the fetch of when it was made): tests replace it.
  fetch: (request) => globalThis.fetch(request),
});
api.use(session);

/** The data of a call, or throws its problem's text (for views that show it in an alert). */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw new Error(problemText(error));
  return data as T;
}
