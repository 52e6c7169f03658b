import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** A value sealed for one receiver: `sealed:v1:<base64 of ephemeral public key | iv | tag | ciphertext>`. */
export const SEALED_PREFIX = 'sealed:v1:';

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const INFO = Buffer.from('ferry wire seal v1');

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/**
 * The receiving end of sealed values (ECIES: X25519, HKDF-SHA256, AES-256-GCM). The private key is
 * derived from a 32-byte secret the receiver already holds (INSPECTOR_CREDENTIALS_KEY), so that every
 * replica opens what was sealed for any of them; senders only ever see `publicKey`.
 */
export class WireKeyPair {
  /** Raw X25519 public key, base64. */
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor(secret: Buffer) {
    const d = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), INFO, 32));
    this.privateKey = createPrivateKey({
      key: Buffer.concat([X25519_PKCS8_PREFIX, d]),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    this.publicKey = spki.subarray(X25519_SPKI_PREFIX.length).toString('base64');
  }

  /** The plain text of a value sealed for this key; throws when it was sealed for another or changed. */
  open(sealed: string): string {
    if (!isSealed(sealed)) throw new Error('not a sealed value');
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    if (bytes.length < 60) throw new Error('a sealed value too short');
    const ephemeral = publicKeyOf(bytes.subarray(0, 32));
    const key = aesKey(
      diffieHellman({ privateKey: this.privateKey, publicKey: ephemeral }),
      bytes.subarray(0, 32),
    );
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(32, 44));
    decipher.setAuthTag(bytes.subarray(44, 60));
    return Buffer.concat([decipher.update(bytes.subarray(60)), decipher.final()]).toString('utf8');
  }
}

/** Seals `plain` for the holder of `publicKey` (raw X25519, base64): nobody else can open it. */
export function sealFor(publicKey: string, plain: string): string {
  const receiver = publicKeyOf(Buffer.from(publicKey, 'base64'));
  const { privateKey, publicKey: ephemeral } = generateKeyPairSync('x25519');
  const epk = ephemeral.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length);
  const key = aesKey(diffieHellman({ privateKey, publicKey: receiver }), epk);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([epk, iv, cipher.getAuthTag(), body]).toString('base64');
}

function publicKeyOf(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** One fresh key per sealing: the ephemeral key pair is never reused. */
function aesKey(shared: Buffer, ephemeralPublic: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralPublic, INFO, 32));
}
