import { execFileSync } from 'node:child_process';
import { retriesFor, shellQuote } from './curl-server';

describe('retriesFor', () => {
  // The retry filter waits 2, 4, 8, … s: the waits before the last retry must outlast a renewal.
  const waited = (retries: number) => 2 * (2 ** retries - 1);

  it("keeps nbdkit's default of 5 for short renewals and outlasts longer ones", () => {
    expect(retriesFor(1)).toBe(5);
    for (const renew of [30, 60, 300]) expect(waited(retriesFor(renew))).toBeGreaterThan(renew);
    expect(retriesFor(60)).toBe(6);
  });
});

describe('shellQuote', () => {
  it('quotes a path so /bin/sh gives it back unchanged', () => {
    for (const path of ['/tmp/a b/cookie', "/tmp/it's/$HOME/`x`"])
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(path)}`]).toString()).toBe(path);
  });
});
