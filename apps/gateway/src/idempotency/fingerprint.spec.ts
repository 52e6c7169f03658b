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

  it('leaves secrets out: the stored fingerprint cannot be used to test password guesses', () => {
    const body = (password: string, url = 'https://vc.example/sdk') => ({
      source: { VcenterCredentials: { url, username: 'administrator', password }, vmId: 'vm-1' },
      mode: 'plan',
    });
    const a = fingerprintOf('POST', '/api/v1/migrations', body('Secr3t-one'));
    expect(fingerprintOf('POST', '/api/v1/migrations', body('another-guess'))).toBe(a);
    expect(canonicalJson(body('Secr3t-one'))).not.toContain('Secr3t-one');
    expect(canonicalJson({ url: 'https://u:Secr3t-one@vc.example/sdk' })).not.toContain('Secr3t-one');
    expect(canonicalJson({ note: 'fry_abc123def456_S3cretPart' })).not.toContain('S3cretPart');
    // The rest of the body still counts.
    expect(
      fingerprintOf('POST', '/api/v1/migrations', body('Secr3t-one', 'https://vc2.example/sdk')),
    ).not.toBe(a);
  });

  it('writes arrays in order', () => {
    expect(canonicalJson([3, { b: 1, a: null }])).toBe('[3,{"a":null,"b":1}]');
  });
});
