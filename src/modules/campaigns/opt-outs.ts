import { createHash } from 'node:crypto';

/** How an address is kept in invitation_opt_outs: SHA-256 (hex) of it in lower case. */
export function optOutKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}
