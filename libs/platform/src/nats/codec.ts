import type { RpcErrorBody } from '@ferry/contracts';

/** What every reply on the wire looks like: exactly one of `data` or `error`. */
export type RpcReply<T> = { data: T } | { error: RpcErrorBody };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value ?? null));
}

export function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  return JSON.parse(decoder.decode(bytes));
}
