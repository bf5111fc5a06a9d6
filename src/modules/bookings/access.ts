import { and, eq, gt, isNull, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { manageTokens, students } from '../../db/schema.js';
import { Forbidden, NotFound } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { hashManageToken } from '../links/tokens.js';
import type { StaffActor } from '../staff-record/service.js';
import type { BookingRow } from './repository.js';

/** Who is asking: a signed-in user, or the holder of a manage link. */
export interface Caller {
  user: AuthUser | null;
  manageToken: string | null;
}

/** How the caller stands to one booking. */
export type Party =
  | { kind: 'admin' | 'librarian'; label: string; staff: StaffActor }
  | { kind: 'student' | 'student_link'; label: string }
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

/** A live manage link for the booking, as a scalar subquery (jsonb or null), to read with other facts. */
export function linkTokenSql(bookingId: string, token: string, now: Date): SQL<LinkToken | null> {
  return sql<LinkToken | null>`(select jsonb_build_object('holder', ${manageTokens.holder}, 'companionId', ${manageTokens.companionId})
    from ${manageTokens}
    where ${and(
      eq(manageTokens.tokenHash, hashManageToken(token)),
      eq(manageTokens.bookingId, bookingId),
      gt(manageTokens.expiresAt, now),
      isNull(manageTokens.revokedAt),
    )})`;
}

export interface LinkToken {
  holder: 'student' | 'companion';
  companionId: string | null;
}

/**
 * How the caller stands to the booking, from facts already read: the idp subject of the booking's
 * student (for a signed-in student) and the live link token the caller holds (for a link).
 */
export function partyFrom(
  booking: Pick<BookingRow, 'librarianId' | 'studentId'>,
  caller: Caller,
  facts: { studentSubject: string | null; token: LinkToken | null },
): Party | null {
  const { user } = caller;
  if (user) {
    const who = user.email ?? user.sub;
    if (user.roles.includes('admin')) return { kind: 'admin', label: `admin:${who}`, staff: user };
    if (user.roles.includes('librarian') && user.librarianId && user.librarianId === booking.librarianId) {
      return { kind: 'librarian', label: `librarian:${who}`, staff: user };
    }
    if (user.roles.includes('student') && booking.studentId && facts.studentSubject === user.sub) {
      return { kind: 'student', label: `student:${who}` };
    }
    return null;
  }
  const { token } = facts;
  if (!caller.manageToken || !token) return null;
  if (token.holder === 'companion' && token.companionId) {
    return { kind: 'companion_link', label: `companion_link:${token.companionId}`, companionId: token.companionId };
  }
  return { kind: 'student_link', label: 'student_link' };
}

async function partyOf(executor: Executor, booking: BookingRow, caller: Caller, now: Date): Promise<Party | null> {
  const studentSubject =
    caller.user?.roles.includes('student') && booking.studentId
      ? ((
          await executor
            .select({ subject: students.idpSubject })
            .from(students)
            .where(eq(students.id, booking.studentId))
        )[0]?.subject ?? null)
      : null;
  let token: LinkToken | null = null;
  if (!caller.user && caller.manageToken) {
    const [row] = await executor
      .select({ holder: manageTokens.holder, companionId: manageTokens.companionId })
      .from(manageTokens)
      .where(
        and(
          eq(manageTokens.tokenHash, hashManageToken(caller.manageToken)),
          eq(manageTokens.bookingId, booking.id),
          gt(manageTokens.expiresAt, now),
          isNull(manageTokens.revokedAt),
        ),
      );
    token = row ?? null;
  }
  return partyFrom(booking, caller, { studentSubject, token });
}

/** 404 when the caller may not even see the booking, 403 when they may see it but not do this. */
export function allow(party: Party | null, bookingId: string, action: BookingAction): Party {
  if (!party) throw new NotFound(`Booking ${bookingId}`);
  if (!ALLOWED[action].includes(party.kind)) {
    throw new Forbidden(`You may see this booking but not do that (${action}).`);
  }
  return party;
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
  return allow(booking ? await partyOf(executor, booking, caller, now) : null, bookingId, action);
}
