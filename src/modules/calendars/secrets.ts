import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// Calendar addresses and passwords at rest: AES-256-GCM with a key derived (HKDF-SHA-256) from
// CALENDAR_SECRET_KEY, or from the key the embedded default generates into DATA_DIR. A stored
// secret is "v1." + base64url(12-byte nonce | 16-byte tag | ciphertext).

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Seals and opens calendar secrets with one key; the key never leaves this closure. */
export function createSecretBox(keyMaterial: string) {
  const key = Buffer.from(hkdfSync('sha256', keyMaterial, 'liaison', 'calendar connection secrets v1', 32));
  return {
    seal(plain: string): string {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `v1.${Buffer.concat([nonce, cipher.getAuthTag(), sealed]).toString('base64url')}`;
    },
    /** The secret, or an error when it was sealed with another key or changed. */
    open(stored: string): string {
      if (!stored.startsWith('v1.')) throw new Error('not a sealed calendar secret');
      const bytes = Buffer.from(stored.slice(3), 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
