import { randomBytes } from 'node:crypto';
import { CredentialsCipher } from './credentials-cipher';
import { SEALED_PREFIX, WireKeyPair, isSealed, sealFor } from './wire-seal';

describe('wire sealing', () => {
  const secret = randomBytes(32);

  it('opens with the receiver key what was sealed for its public key, and shows nothing of it', () => {
    const receiver = new WireKeyPair(secret);
    const sealed = sealFor(receiver.publicKey, 'pa55-wörd');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    expect(sealed).not.toContain('pa55');
    expect(Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64').includes(Buffer.from('pa55'))).toBe(
      false,
    );
    expect(receiver.open(sealed)).toBe('pa55-wörd');
    // A fresh ephemeral key each time: the same text never seals the same way twice.
    expect(sealFor(receiver.publicKey, 'pa55-wörd')).not.toBe(sealed);
  });

  it('gives every replica holding the same secret the same key pair, and others another', () => {
    const a = new WireKeyPair(secret);
    const b = new WireKeyPair(Buffer.from(secret));
    expect(b.publicKey).toBe(a.publicKey);
    expect(b.open(sealFor(a.publicKey, 'x'))).toBe('x');
    const other = new WireKeyPair(randomBytes(32));
    expect(other.publicKey).not.toBe(a.publicKey);
    expect(() => other.open(sealFor(a.publicKey, 'x'))).toThrow();
  });

  it('refuses changed bytes and values that are not sealed', () => {
    const receiver = new WireKeyPair(secret);
    const sealed = sealFor(receiver.publicKey, 'secret');
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => receiver.open(SEALED_PREFIX + bytes.toString('base64'))).toThrow();
    expect(() => receiver.open('secret')).toThrow(/not a sealed value/);
    expect(() => receiver.open(`${SEALED_PREFIX}AAAA`)).toThrow();
  });

  it('derives from a CredentialsCipher key, so one setting keeps both the database and the wire', () => {
    const hex = secret.toString('hex');
    const keys = new CredentialsCipher(hex).wireKeys();
    expect(keys.publicKey).toBe(new CredentialsCipher(secret.toString('base64')).wireKeys().publicKey);
    expect(keys.open(sealFor(keys.publicKey, 'pw'))).toBe('pw');
  });
});
