import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { manageTokens, students } from '../../db/schema.js';
import { Forbidden, NotFound } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { hashManageToken } from '../links/tokens.js';
import type { BookingRow } from './repository.js';

/** Who is asking: a signed-in user, or the holder of a manage link. */
export interface Caller {
  user: AuthUser | null;
  manageToken: string | null;
}

/** How the caller stands to one booking. */
export type Party =
  | { kind: 'admin' | 'librarian' | 'student' | 'student_link'; label: string }
  | { kind: 'companion_link'; label: string; companionId: string };

export type BookingAction = 'view' | 'change' | 'companion' | 'decline' | 'attendance' | 'audit';

const ALLOWED: Record<BookingAction, Party['kind'][]> = {
  view: ['admin', 'librarian', 'student', 'student_link', 'companion_link'],
  change: ['admin', 'librarian', 'student', 'student_link'],
  companion: ['student', 'student_link'],
  decline: ['companion_link'],
  attendance: ['admin', 'librarian'],
  audit: ['admin'],
};

export async function studentIdOf(executor: Executor, user: AuthUser): Promise<string | null> {
  const [row] = await executor.select({ id: students.id }).from(students).where(eq(students.idpSubject, user.sub));
  return row?.id ?? null;
}

async function partyOf(executor: Executor, booking: BookingRow, caller: Caller, now: Date): Promise<Party | null> {
  const { user } = caller;
  if (user) {
    const who = user.email ?? user.sub;
    if (user.roles.includes('admin')) return { kind: 'admin', label: `admin:${who}` };
    if (user.roles.includes('librarian') && user.librarianId && user.librarianId === booking.librarianId) {
      return { kind: 'librarian', label: `librarian:${who}` };
    }
    if (
      user.roles.includes('student') &&
      booking.studentId &&
      (await studentIdOf(executor, user)) === booking.studentId
    ) {
      return { kind: 'student', label: `student:${who}` };
    }
    return null;
  }
  if (!caller.manageToken) return null;
  const [token] = await executor
    .select()
    .from(manageTokens)
    .where(
      and(
        eq(manageTokens.tokenHash, hashManageToken(caller.manageToken)),
        eq(manageTokens.bookingId, booking.id),
        gt(manageTokens.expiresAt, now),
        isNull(manageTokens.revokedAt),
      ),
    );
  if (!token) return null;
  if (token.holder === 'companion' && token.companionId) {
    return { kind: 'companion_link', label: `companion_link:${token.companionId}`, companionId: token.companionId };
  }
  return { kind: 'student_link', label: 'student_link' };
}

/**
 * The caller's standing, or 404 when they may not even see the booking (so its existence is
 * never confirmed to strangers), or 403 when they may see it but not do this.
 */
export async function authorize(
  executor: Executor,
  booking: BookingRow | undefined,
  bookingId: string,
  caller: Caller,
  action: BookingAction,
  now: Date,
): Promise<Party> {
  const party = booking ? await partyOf(executor, booking, caller, now) : null;
  if (!party) throw new NotFound(`Booking ${bookingId}`);
  if (!ALLOWED[action].includes(party.kind)) {
    throw new Forbidden(`You may see this booking but not do that (${action}).`);
  }
  return party;
}
