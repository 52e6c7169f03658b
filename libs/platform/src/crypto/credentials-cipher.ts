import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { WireKeyPair } from './wire-seal';

export interface VcenterSecret {
  username: string;
  password: string;
}

/**
 * Encrypts vCenter credentials for the database (AES-256-GCM, the owning row's id as associated data,
 * so a ciphertext copied to another row does not decrypt). The key comes from a service setting
 * (INSPECTOR_CREDENTIALS_KEY, CLEANUP_CREDENTIALS_KEY); without one the process makes its own, which
 * nothing else can read. `keyId` tells replicas whether they hold the key that wrote a row.
 */
export class CredentialsCipher {
  readonly keyId: string;
  readonly ephemeral: boolean;
  private readonly key: Buffer;

  /** `setting` names the variable the key came from, for the error a malformed key gets. */
  constructor(configured: string, setting = 'the credentials key') {
    this.ephemeral = configured === '';
    this.key = this.ephemeral ? randomBytes(32) : parseKey(configured, setting);
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 16);
  }

  encrypt(secret: VcenterSecret, runId: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(runId));
    const body = Buffer.concat([cipher.update(JSON.stringify(secret), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** The key pair values sealed for this service on the wire open with, derived from the same key. */
  wireKeys(): WireKeyPair {
    return new WireKeyPair(this.key);
  }

  /** Throws when the key is not the one that encrypted, or the bytes were changed. */
  decrypt(sealed: Buffer, runId: string): VcenterSecret {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(runId));
    decipher.setAuthTag(sealed.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as VcenterSecret;
  }
}

function parseKey(text: string, setting: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${setting} must be 32 bytes (base64 or hex)`);
  return key;
}
