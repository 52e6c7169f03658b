import type { ValidationOptions } from 'class-validator';
import { Matches } from 'class-validator';

/**
 * How a path or body may name a Ferry resource (VM, disk, volume operation, failover job, host).
 * Ferry makes UUIDs, but a caller may hold another system's ids (seed 002's `vm-12345678-test`,
 * `vol-87654321`): such an id names nothing here, so it is NOT_FOUND, like an unknown UUID, and never
 * a validation error. Only ids that are unsafe to carry into logs, messages and paths are refused:
 * control and format characters (newlines, NUL, bidi overrides), `/` and `\`, more than 128 characters.
 */
export const RESOURCE_ID_MAX_LENGTH = 128;
export const RESOURCE_ID_PATTERN = /^[^\p{Cc}\p{Cf}/\\]{1,128}$/u;

/** The message a refused id gets, naming the field. */
export function resourceIdMessage(field: string): string {
  return `${field} must be 1-${RESOURCE_ID_MAX_LENGTH} characters without control characters or slashes`;
}

/** class-validator: an id that may be looked up (see RESOURCE_ID_PATTERN); `each` for arrays. */
export function IsResourceId(options: ValidationOptions = {}): PropertyDecorator {
  return Matches(RESOURCE_ID_PATTERN, {
    message: (args) => resourceIdMessage(options.each ? `each of ${args.property}` : args.property),
    ...options,
  });
}

/** The OpenAPI description of such an id (for `@ApiProperty`). */
export const RESOURCE_ID_API = {
  type: String,
  maxLength: RESOURCE_ID_MAX_LENGTH,
  description:
    'The id Ferry gave it (a UUID). Any other id is 404 NOT_FOUND; control characters, slashes and more than 128 characters are 400.',
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the shape of the ids Ferry makes; anything else names no row (and is not queried). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
