import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits from the OS CSPRNG, URL-safe: never derived from ids or times. */
export function generateManageToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this is stored; a leaked table cannot be turned back into working links. */
export function hashManageToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
