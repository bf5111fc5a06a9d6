import { createHash, randomBytes } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { manageTokens } from '../../db/schema.js';

/**
 * Tokens in links (manage, feedback, calendar feeds): shared by the bookings module that issues
 * them and the channels (email) that send them, so neither imports the other.
 */

const DAY = 24 * 60 * 60_000;

/** 256 random bits from the OS CSPRNG, URL-safe: never derived from ids or times. */
export function generateManageToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this is stored; a leaked table cannot be turned back into working links. */
export function hashManageToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Manage links keep working for a day after the session, to see what happened. */
export function manageTokenExpiry(endsAt: Date): Date {
  return new Date(endsAt.getTime() + DAY);
}

/** A new manage link for the student (no companionId) or one companion; returns the token, stored only hashed. */
export async function insertManageToken(
  executor: Executor,
  holder: {
    bookingId: string;
    endsAt: Date;
    companionId?: string | null;
    issuedVia?: 'email' | 'response';
    now: Date;
  },
): Promise<string> {
  const token = generateManageToken();
  await executor.insert(manageTokens).values({
    tokenHash: hashManageToken(token),
    bookingId: holder.bookingId,
    holder: holder.companionId ? 'companion' : 'student',
    companionId: holder.companionId ?? null,
    expiresAt: manageTokenExpiry(holder.endsAt),
    issuedVia: holder.issuedVia ?? 'email',
    createdAt: holder.now,
  });
  return token;
}

/** New manage links for several holders, as rows for one multi-row insert, with the tokens to hand out. */
export function manageTokenRows(
  holders: {
    bookingId: string;
    endsAt: Date;
    companionId?: string | null;
    issuedVia: 'email' | 'response';
    now: Date;
  }[],
): { tokens: string[]; rows: (typeof manageTokens.$inferInsert)[] } {
  const tokens = holders.map(() => generateManageToken());
  const rows = holders.map((holder, index) => ({
    tokenHash: hashManageToken(tokens[index] as string),
    bookingId: holder.bookingId,
    holder: holder.companionId ? ('companion' as const) : ('student' as const),
    companionId: holder.companionId ?? null,
    expiresAt: manageTokenExpiry(holder.endsAt),
    issuedVia: holder.issuedVia,
    createdAt: holder.now,
  }));
  return { tokens, rows };
}
