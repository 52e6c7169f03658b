import { canonicalJson, fingerprintOf } from './idempotency.interceptor';

describe('request fingerprint', () => {
  it('ignores key order but not values, paths or methods', () => {
    const a = fingerprintOf('POST', '/api/v1/templates', { name: 'x', cpu_count: 1, nested: { b: 1, a: 2 } });
    const b = fingerprintOf('POST', '/api/v1/templates', { nested: { a: 2, b: 1 }, cpu_count: 1, name: 'x' });
    expect(a).toBe(b);
    expect(fingerprintOf('POST', '/api/v1/templates', { name: 'y', cpu_count: 1 })).not.toBe(a);
    expect(
      fingerprintOf('POST', '/api/v1/other', { name: 'x', cpu_count: 1, nested: { b: 1, a: 2 } }),
    ).not.toBe(a);
  });

  it('writes arrays in order', () => {
    expect(canonicalJson([3, { b: 1, a: null }])).toBe('[3,{"a":null,"b":1}]');
  });
});
