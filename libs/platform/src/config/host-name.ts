import { hostname } from 'node:os';

/**
 * This machine's host name as a Ferry host name (letters, digits, `.`, `_`, `-`; at most 63), so that
 * host-capability's local host and vm-operator's host agree by default. `localhost` if nothing is left.
 */
export function machineHostName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return name || 'localhost';
}
