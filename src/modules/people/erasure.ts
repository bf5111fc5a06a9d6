import { and, eq, gt, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import {
  bookingEvents,
  bookings,
  campaignMembers,
  companions,
  feedbackRequests,
  feedbackResponses,
  idempotencyKeys,
  librarians,
  manageTokens,
  notifications,
  signInLinks,
  staffActions,
  students,
  webhookDeliveries,
  webSessions,
} from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { forgetOutboxFiles } from '../notifications/mailer.js';
import { recordStaffAction } from '../staff-record/service.js';

/**
 * A module's part of an erasure, run in its transaction: it forgets what it holds of the person
 * (their student ids) and returns the strings of theirs it held (a friend's name, say), so that
 * snapshots elsewhere lose them too.
 */
export type ModuleEraser = (tx: Executor, studentIds: readonly string[], now: Date) => Promise<string[]>;

export interface ErasureDeps {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'adminAlertEmails' | 'smtpUrl' | 'dataDir'>;
  /** Cancels a booking as an admin would, with the usual emails (the bookings service). */
  cancelAsAdmin: (bookingId: string, admin: AuthUser) => Promise<unknown>;
  /** The other modules' parts (the waitlist's). */
  erasers: readonly ModuleEraser[];
}

export interface ErasureResult {
  email: string;
  students: number;
  invitations: number;
  cancelled: number;
}

/** `value` as literal text inside a regular expression (PostgreSQL's ARE, like JavaScript's). */
function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Erasure on request: the person's identity goes everywhere, as retention removes it from old
 * sessions, while times, categories, attendance, scores and the pseudonymous student key stay, so
 * every figure is unchanged. Their upcoming bookings are cancelled first, with the usual emails to
 * the librarian and friends (naming "a student"); their links and sessions stop working. A
 * librarian's or an admin's address is refused. Signing in again later makes a new student.
 */
export function createErasure(deps: ErasureDeps) {
  const { db, clock } = deps;

  async function refuseStaff(email: string, admin: AuthUser): Promise<void> {
    const [librarian] = await db
      .select({ id: librarians.id })
      .from(librarians)
      .where(sql`lower(${librarians.email}) = ${email}`);
    const isAdmin =
      deps.config.adminAlertEmails.some((address) => address.toLowerCase() === email) ||
      (
        await db
          .select({ id: webSessions.idHash })
          .from(webSessions)
          .where(sql`lower(${webSessions.user} ->> 'email') = ${email} and ${webSessions.user} -> 'roles' ? 'admin'`)
          .limit(1)
      ).length > 0;
    // The admin asking: a bearer token leaves no session row to find them by.
    const self = admin.email?.toLowerCase() === email;
    if (librarian || isAdmin || self) {
      throw new Conflict(
        'staff_email',
        'That address belongs to a librarian or an admin: staff are removed through the librarians page or the sign-in provider, not erased here.',
      );
    }
  }

  /**
   * Replaces every JSON string in `column` that holds one of `values` (any case, alone or inside a
   * longer text such as a topic) by null: snapshots keep their shape and lose the person.
   */
  function scrubJson(executor: Executor, table: SQL, column: SQL, values: string[], related: SQL) {
    if (values.length === 0) return Promise.resolve();
    const pattern = `"(?:[^"\\\\]|\\\\.)*(?:${values.map(escapeRegExp).join('|')})(?:[^"\\\\]|\\\\.)*"`;
    return executor.execute(
      sql`update ${table} set ${column} = regexp_replace(${column}::text, ${pattern}, 'null', 'gi')::jsonb
          where ${related} and ${column}::text ~* ${pattern}`,
    );
  }

  return async function erase(address: string, admin: AuthUser): Promise<ErasureResult> {
    const email = address.trim().toLowerCase();
    await refuseStaff(email, admin);
    const now = clock.now();
    // 1. Their upcoming sessions are cancelled as an admin would, with the usual emails.
    const upcoming = await db
      .select({ id: bookings.id })
      .from(bookings)
      .innerJoin(students, eq(students.id, bookings.studentId))
      .where(
        and(sql`lower(${students.email}) = ${email}`, eq(bookings.status, 'confirmed'), gt(bookings.startsAt, now)),
      );
    for (const booking of upcoming) await deps.cancelAsAdmin(booking.id, admin);

    // 2. Then their identity, everywhere, at once.
    const { result, messageIds } = await transaction(db, async (tx) => {
      const studentRows = await tx
        .select({ id: students.id, sub: students.idpSubject, name: students.name, email: students.email })
        .from(students)
        .where(sql`lower(${students.email}) = ${email}`);
      const invitationRows = await tx
        .select({ id: companions.id, name: companions.name, email: companions.email })
        .from(companions)
        .where(sql`lower(${companions.email}) = ${email}`);
      const studentIds = studentRows.map((row) => row.id);
      const subjects = studentRows.map((row) => row.sub);
      const invitationIds = invitationRows.map((row) => row.id);
      const theirBookings =
        studentIds.length > 0
          ? tx.select({ id: bookings.id }).from(bookings).where(inArray(bookings.studentId, studentIds))
          : undefined;
      // Their sessions, and the sessions they were invited to: the records that can name them.
      const ownIds =
        studentIds.length > 0
          ? (await tx.select({ id: bookings.id }).from(bookings).where(inArray(bookings.studentId, studentIds))).map(
              (row) => row.id,
            )
          : [];
      const invitedIds =
        invitationIds.length > 0
          ? (
              await tx
                .select({ id: companions.bookingId })
                .from(companions)
                .where(inArray(companions.id, invitationIds))
            ).map((row) => row.id)
          : [];
      const relatedIds = [...new Set([...ownIds, ...invitedIds])];
      // What they wrote: topics and cancellation reasons of their sessions, comments they gave.
      const written =
        ownIds.length > 0
          ? await tx
              .select({ topic: bookings.topic, reason: bookings.cancellationReason })
              .from(bookings)
              .where(inArray(bookings.id, ownIds))
          : [];
      const comments = await tx
        .select({ comment: feedbackResponses.comment })
        .from(feedbackResponses)
        .innerJoin(feedbackRequests, eq(feedbackRequests.id, feedbackResponses.requestId))
        .where(
          or(
            ownIds.length > 0
              ? and(inArray(feedbackRequests.bookingId, ownIds), eq(feedbackRequests.respondent, 'student'))
              : sql`false`,
            invitationIds.length > 0 ? inArray(feedbackRequests.companionId, invitationIds) : sql`false`,
          ),
        );
      const members = await tx
        .select({ firstName: campaignMembers.firstName, studentRef: campaignMembers.studentRef })
        .from(campaignMembers)
        .where(eq(campaignMembers.email, email));
      // The other modules forget them (the waitlist: entries end, open offers die) and say what they held.
      const heldElsewhere = (await Promise.all(deps.erasers.map((eraser) => eraser(tx, studentIds, now)))).flat();
      // Every email to them or about their sessions: its .eml copy goes too, where mail goes to files.
      const messages = await tx
        .select({ messageId: notifications.messageId })
        .from(notifications)
        .where(
          or(
            sql`lower(${notifications.recipientEmail}) = ${email}`,
            relatedIds.length > 0 ? inArray(notifications.bookingId, relatedIds) : sql`false`,
          ),
        );
      const namedFriends =
        ownIds.length > 0
          ? await tx
              .select({ name: companions.name, email: companions.email })
              .from(companions)
              .where(inArray(companions.bookingId, ownIds))
          : [];
      // The strings that name them (and the friends they named), wherever a snapshot keeps them.
      const identifiers = [
        ...new Set(
          [address.trim(), email, ...studentRows.flatMap((row) => [row.name, row.email, row.sub])]
            .concat(invitationRows.flatMap((row) => [row.name, row.email]))
            .concat(namedFriends.flatMap((row) => [row.name, row.email]))
            .concat(written.flatMap((row) => [row.topic, row.reason]))
            .concat(comments.map((row) => row.comment))
            .concat(members.flatMap((row) => [row.firstName, row.studentRef]))
            .concat(heldElsewhere)
            .filter((value): value is string => typeof value === 'string' && value.trim().length >= 3),
        ),
      ];
      const aboutThem = (column: SQL) =>
        relatedIds.length > 0
          ? sql`${column} in (${sql.join(
              relatedIds.map((id) => sql`${id}::uuid`),
              sql`, `,
            )})`
          : sql`false`;
      const mentionsThem = (column: SQL) =>
        relatedIds.length > 0
          ? sql`(${sql.join(
              relatedIds.map((id) => sql`strpos(${column}::text, ${id}) > 0`),
              sql` or `,
            )})`
          : sql`false`;

      if (theirBookings) {
        await tx
          .update(bookings)
          .set({ topic: null, cancellationReason: null, studentTimeZone: null })
          .where(inArray(bookings.id, theirBookings));
        // The friends they named go with them; the friends' yes/no and categories stay for the figures.
        await tx
          .update(companions)
          .set({ name: null, email: null })
          .where(inArray(companions.bookingId, theirBookings));
        await tx.delete(manageTokens).where(inArray(manageTokens.bookingId, theirBookings));
        const requests = tx
          .select({ id: feedbackRequests.id })
          .from(feedbackRequests)
          .where(and(inArray(feedbackRequests.bookingId, theirBookings), eq(feedbackRequests.respondent, 'student')));
        await tx.update(feedbackResponses).set({ comment: null }).where(inArray(feedbackResponses.requestId, requests));
        await tx.update(feedbackRequests).set({ tokenHash: null }).where(inArray(feedbackRequests.id, requests));
      }
      if (invitationIds.length > 0) {
        await tx.update(companions).set({ name: null, email: null }).where(inArray(companions.id, invitationIds));
        await tx.delete(manageTokens).where(inArray(manageTokens.companionId, invitationIds));
        const requests = tx
          .select({ id: feedbackRequests.id })
          .from(feedbackRequests)
          .where(inArray(feedbackRequests.companionId, invitationIds));
        await tx.update(feedbackResponses).set({ comment: null }).where(inArray(feedbackResponses.requestId, requests));
        await tx.update(feedbackRequests).set({ tokenHash: null }).where(inArray(feedbackRequests.id, requests));
      }
      // Emails to them are dropped (sent or not); others' emails still to go keep going, naming no
      // one; the record of emails already sent about their sessions goes, as retention does.
      if (ownIds.length > 0) {
        await tx
          .delete(notifications)
          .where(
            and(inArray(notifications.bookingId, ownIds), inArray(notifications.status, ['sent', 'skipped', 'dead'])),
          );
      }
      // A campaign's invitation stays, without its address: whether it went out is a figure.
      await tx
        .update(notifications)
        .set({ recipientEmail: '', recipientName: null, linkToken: null })
        .where(
          and(eq(notifications.kind, 'campaign_invitation'), sql`lower(${notifications.recipientEmail}) = ${email}`),
        );
      await tx.delete(notifications).where(sql`lower(${notifications.recipientEmail}) = ${email}`);
      // Campaign cohorts: who they are goes; which of the students was them is kept as an
      // attribution, so their outcome (and the campaign's figures) stays as it was.
      if (studentIds.length > 0) {
        await tx.execute(sql`insert into campaign_attributions (member_id, student_id, at)
          select m.id, s.id, ${now} from campaign_members m cross join students s
          where m.email = ${email} and s.id in (${sql.join(
            studentIds.map((id) => sql`${id}::uuid`),
            sql`, `,
          )})
          on conflict do nothing`);
      }
      await tx
        .update(campaignMembers)
        .set({ email: null, firstName: null, studentRef: null })
        .where(eq(campaignMembers.email, email));
      // Their request to stop invitations stays: it is kept as a hash of the address, not the
      // address, and a later cohort naming them must still leave them out.
      await tx.delete(signInLinks).where(eq(signInLinks.email, email));
      if (subjects.length > 0) {
        await tx.delete(webSessions).where(inArray(sql`${webSessions.user} ->> 'sub'`, subjects));
        await tx.delete(idempotencyKeys).where(inArray(idempotencyKeys.caller, subjects));
      }
      // Every queued email's snapshot, not only their sessions': a waitlist offer or a campaign
      // invitation has no session, and another student's email may name them as a friend.
      await scrubJson(tx, sql`${notifications}`, sql`payload`, identifiers, sql`true`);
      await scrubJson(tx, sql`${bookingEvents}`, sql`"before"`, identifiers, aboutThem(sql`booking_id`));
      await scrubJson(tx, sql`${bookingEvents}`, sql`"after"`, identifiers, aboutThem(sql`booking_id`));
      await scrubJson(tx, sql`${webhookDeliveries}`, sql`payload`, identifiers, sql`true`);
      await scrubJson(tx, sql`${idempotencyKeys}`, sql`response`, identifiers, mentionsThem(sql`response`));
      // The change feed names who acted (their sub or email): no longer them.
      await tx
        .update(bookingEvents)
        .set({ actor: 'erased' })
        .where(
          and(
            aboutThem(sql`booking_id`),
            or(...identifiers.map((value) => sql`strpos(lower(${bookingEvents.actor}), lower(${value})) > 0`)),
          ),
        );
      if (subjects.length > 0) {
        // A new identity key: signing in again makes a new student; the bookings keep their key.
        await tx
          .update(students)
          .set({
            name: null,
            email: null,
            categories: {},
            language: null,
            idpSubject: sql`'erased:' || ${students.id}::text`,
            updatedAt: now,
          })
          .where(inArray(students.id, studentIds));
      }
      const result = {
        email,
        students: studentRows.length,
        invitations: invitationRows.length,
        cancelled: upcoming.length,
      };
      // The staff record keeps that an erasure happened, and by whom, but not whose address it was.
      await tx.update(staffActions).set({ subject: 'erased' }).where(sql`lower(${staffActions.subject}) = ${email}`);
      await recordStaffAction(tx, now, {
        actor: admin,
        action: 'person.erased',
        after: { students: result.students, invitations: result.invitations, cancelled: result.cancelled },
      });
      return { result, messageIds: messages.map((row) => row.messageId) };
    });
    // Once committed: the .eml copies of those emails, where mail goes to files.
    forgetOutboxFiles(deps.config, messageIds);
    return result;
  };
}
