import { generateApiKey, hashApiKey, hashesEqual, parseApiKeyId } from './api-key.format';

describe('API key format', () => {
  it('generates keys whose id can be parsed back and whose hash verifies', () => {
    const { id, key } = generateApiKey();
    expect(key).toMatch(/^fry_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKeyId(key)).toBe(id);
    expect(hashesEqual(hashApiKey(key), hashApiKey(key))).toBe(true);
    expect(hashesEqual(hashApiKey(key), hashApiKey(key + 'x'))).toBe(false);
  });

  it('rejects malformed keys', () => {
    expect(parseApiKeyId('fry_short_x')).toBeUndefined();
    expect(parseApiKeyId('Bearer something')).toBeUndefined();
  });

  it('makes different keys each time', () => {
    expect(generateApiKey().key).not.toBe(generateApiKey().key);
  });
});
