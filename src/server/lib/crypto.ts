import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A secret shown once: `prefix_` + 32 random bytes, base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Loads the master key from config, or creates a 0600 key file in the data dir on first start. */
export function loadMasterKey(masterKeyHex: string | undefined, dataDir: string): Buffer {
  if (masterKeyHex) return Buffer.from(masterKeyHex, 'hex');
  const file = path.join(dataDir, 'master.key');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex'), { mode: 0o600, flag: 'wx' });
  return key;
}

/** Separate keys per purpose, so the JWT key never doubles as the encryption key. */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  return createHmac('sha256', masterKey).update(purpose).digest();
}

const VERSION = 'v1';

/** AES-256-GCM; output `v1:iv:tag:ciphertext`, base64url parts. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    this.#key = deriveKey(masterKey, 'fleetplane:secrets-at-rest');
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), data]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join(':');
  }

  /** Seals a value unless this box sealed it already, so a sealed value can pass through several stores. */
  sealOnce(value: string): string {
    return this.#tryOpen(value) === undefined ? this.seal(value) : value;
  }

  /** Opens a value this box sealed; any other value (stored before sealing, say) is returned as it is. */
  reveal(value: string): string {
    return this.#tryOpen(value) ?? value;
  }

  // GCM authenticates: a value this key did not seal cannot open by chance.
  #tryOpen(value: string): string | undefined {
    if (!value.startsWith(`${VERSION}:`)) return undefined;
    try {
      return this.open(value);
    } catch {
      return undefined;
    }
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || data === undefined)
      throw new Error('sealed value has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}
