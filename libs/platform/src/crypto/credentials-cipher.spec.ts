import { randomBytes } from 'node:crypto';
import { CredentialsCipher } from './credentials-cipher';

describe('CredentialsCipher', () => {
  const secret = { username: 'admin@vsphere.local', password: 'pa55-wörd' };

  it('round-trips with the configured key, in base64 or hex, and keeps no plain text', () => {
    const raw = randomBytes(32);
    const b64 = new CredentialsCipher(raw.toString('base64'));
    const hex = new CredentialsCipher(raw.toString('hex'));
    const sealed = b64.encrypt(secret, 'run-1');
    expect(sealed.includes(Buffer.from('pa55'))).toBe(false);
    expect(sealed.includes(Buffer.from('admin'))).toBe(false);
    expect(hex.decrypt(sealed, 'run-1')).toEqual(secret);
    expect(hex.keyId).toBe(b64.keyId);
    expect(b64.ephemeral).toBe(false);
  });

  it('refuses another run id, another key and changed bytes', () => {
    const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
    const sealed = cipher.encrypt(secret, 'run-1');
    expect(() => cipher.decrypt(sealed, 'run-2')).toThrow();
    expect(() => new CredentialsCipher('').decrypt(sealed, 'run-1')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => cipher.decrypt(tampered, 'run-1')).toThrow();
  });

  it('makes a key of its own when none is configured, with its own id', () => {
    const a = new CredentialsCipher('');
    const b = new CredentialsCipher('');
    expect(a.ephemeral).toBe(true);
    expect(a.keyId).not.toBe(b.keyId);
    expect(a.decrypt(a.encrypt(secret, 'r'), 'r')).toEqual(secret);
  });

  it('refuses a key of the wrong length', () => {
    expect(() => new CredentialsCipher(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
