import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import {
  bookings,
  campaignMembers,
  campaigns,
  companions,
  feedbackRequests,
  feedbackResponses,
  invitationOptOuts,
  librarians,
  notifications,
  signInLinks,
  students,
  waitlistEntries,
  waitlistOffers,
  webSessions,
} from '../../db/schema.js';
import type { AuthUser } from '../../plugins/auth.js';
import { createOptOutKeys } from '../campaigns/opt-outs.js';
import { recordStaffAction } from '../staff-record/service.js';
import { createErasure, type ErasureDeps } from './erasure.js';
import type { PersonExport } from './schemas.js';

const iso = (value: Date) => value.toISOString();
const isoOrNull = (value: Date | null) => (value ? value.toISOString() : null);

/** A person's data on request (subject access): everything held about one email address. */
export function createPeopleService(deps: ErasureDeps) {
  const { db, clock } = deps;
  const erase = createErasure(deps);
  const optOutKeys = createOptOutKeys(db, clock);

  return {
    erase,

    /** Everything held about `address`; the export is written in the staff record as `actor`'s. */
    async exportPerson(address: string, actor: Pick<AuthUser, 'sub' | 'email'>): Promise<PersonExport> {
      const email = address.trim().toLowerCase();
      await recordStaffAction(db, clock.now(), { actor, action: 'person.exported', subject: email });
      const studentRows = await db
        .select()
        .from(students)
        .where(sql`lower(${students.email}) = ${email}`)
        .orderBy(asc(students.createdAt));
      const studentIds = studentRows.map((row) => row.id);
      const booked =
        studentIds.length === 0
          ? []
          : await db
              .select({ booking: bookings, librarian: librarians.name })
              .from(bookings)
              .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
              .where(inArray(bookings.studentId, studentIds))
              .orderBy(asc(bookings.startsAt));
      const friendsOfBookings =
        booked.length === 0
          ? []
          : await db
              .select()
              .from(companions)
              .where(
                inArray(
                  companions.bookingId,
                  booked.map((row) => row.booking.id),
                ),
              )
              .orderBy(asc(companions.ordinal));
      const invited = await db
        .select({ companion: companions, booking: bookings, librarian: librarians.name })
        .from(companions)
        .innerJoin(bookings, eq(bookings.id, companions.bookingId))
        .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
        .where(sql`lower(${companions.email}) = ${email}`)
        .orderBy(asc(bookings.startsAt));
      const invitationIds = invited.map((row) => row.companion.id);
      const answered = await db
        .select({ request: feedbackRequests, response: feedbackResponses })
        .from(feedbackRequests)
        .innerJoin(feedbackResponses, eq(feedbackResponses.requestId, feedbackRequests.id))
        .where(
          sql`(${feedbackRequests.respondent} = 'student' and ${feedbackRequests.bookingId} in (select ${bookings.id} from ${bookings} where ${studentIds.length > 0 ? inArray(bookings.studentId, studentIds) : sql`false`}))
            or (${feedbackRequests.respondent} = 'companion' and ${invitationIds.length > 0 ? inArray(feedbackRequests.companionId, invitationIds) : sql`false`})`,
        )
        .orderBy(asc(feedbackResponses.submittedAt));
      const emails = await db
        .select()
        .from(notifications)
        .where(sql`lower(${notifications.recipientEmail}) = ${email}`)
        .orderBy(asc(notifications.createdAt));
      const cohorts = await db
        .select({ member: campaignMembers, campaign: campaigns.name })
        .from(campaignMembers)
        .innerJoin(campaigns, eq(campaigns.id, campaignMembers.campaignId))
        .where(eq(campaignMembers.email, email))
        .orderBy(asc(campaignMembers.createdAt));
      const [stopped] = await db
        .select()
        .from(invitationOptOuts)
        .where(inArray(invitationOptOuts.emailHash, [...(await optOutKeys.keysOf([email])).keys()]));
      const waited =
        studentIds.length === 0
          ? []
          : await db
              .select()
              .from(waitlistEntries)
              .where(inArray(waitlistEntries.studentId, studentIds))
              .orderBy(asc(waitlistEntries.createdAt));
      const offered =
        waited.length === 0
          ? []
          : await db
              .select()
              .from(waitlistOffers)
              .where(
                inArray(
                  waitlistOffers.entryId,
                  waited.map((entry) => entry.id),
                ),
              )
              .orderBy(asc(waitlistOffers.startsAt));
      const links = await db
        .select()
        .from(signInLinks)
        .where(eq(signInLinks.email, email))
        .orderBy(asc(signInLinks.createdAt));
      const subjects = studentRows.map((row) => row.idpSubject);
      const sessions =
        subjects.length === 0
          ? []
          : await db
              .select({ createdAt: webSessions.createdAt, expiresAt: webSessions.expiresAt })
              .from(webSessions)
              .where(
                and(
                  sql`${webSessions.user} ->> 'sub' in (${sql.join(
                    subjects.map((sub) => sql`${sub}`),
                    sql`, `,
                  )})`,
                ),
              )
              .orderBy(asc(webSessions.createdAt));

      return {
        email,
        exportedAt: iso(clock.now()),
        students: studentRows.map((row) => ({
          id: row.id,
          name: row.name,
          email: row.email,
          categories: row.categories,
          categoriesAnsweredAt: isoOrNull(row.categoriesAnsweredAt),
          language: row.language,
          createdAt: iso(row.createdAt),
        })),
        bookings: booked.map(({ booking, librarian }) => ({
          id: booking.id,
          librarian,
          start: iso(booking.startsAt),
          end: iso(booking.endsAt),
          status: booking.status,
          mode: booking.mode,
          topic: booking.topic,
          attendance: booking.attendance,
          categoriesAtBooking: booking.studentCategories,
          nervesBefore: booking.nervesBefore,
          cameAsFriendBefore: booking.cameAsFriendBefore,
          timeZone: booking.studentTimeZone,
          cancellationReason: booking.cancellationReason,
          createdAt: iso(booking.createdAt),
          friends: friendsOfBookings
            .filter((friend) => friend.bookingId === booking.id)
            .map((friend) => ({ name: friend.name, email: friend.email, role: friend.role, status: friend.status })),
        })),
        invitations: invited.map(({ companion, booking, librarian }) => ({
          bookingId: booking.id,
          librarian,
          start: iso(booking.startsAt),
          end: iso(booking.endsAt),
          name: companion.name,
          role: companion.role,
          status: companion.status,
          confirmed: companion.status === 'invited' && companion.confirmedAt !== null,
          attended: companion.attended,
          language: companion.language,
          categories: companion.categories,
          invitedAt: iso(companion.createdAt),
        })),
        feedback: answered.map(({ request, response }) => ({
          bookingId: request.bookingId,
          as: request.respondent,
          nervous: response.nervous,
          useful: response.useful,
          nervesNow: response.nervesNow,
          bookMyself: response.bookMyself,
          comment: response.comment,
          submittedAt: iso(response.submittedAt),
        })),
        emails: emails.map((row) => ({
          kind: row.kind,
          status: row.status,
          queuedAt: iso(row.createdAt),
          sentAt: isoOrNull(row.sentAt),
        })),
        campaigns: cohorts.map(({ member, campaign }) => ({
          campaign,
          studentRef: member.studentRef,
          firstName: member.firstName,
          categories: member.categories,
          arm: member.arm,
          addedAt: iso(member.createdAt),
        })),
        waitlist: waited.map((entry) => ({
          waitingFor: entry.pool,
          from: entry.fromDate,
          to: entry.toDate,
          weekdays: entry.weekdays,
          earliest: entry.earliest,
          latest: entry.latest,
          friendName: entry.companionName,
          friendEmail: entry.companionEmail,
          status: entry.status,
          joinedAt: iso(entry.createdAt),
          endedAt: isoOrNull(entry.endedAt),
          offers: offered
            .filter((offer) => offer.entryId === entry.id)
            .map((offer) => ({
              start: iso(offer.startsAt),
              end: iso(offer.endsAt),
              status: offer.status,
              expiresAt: iso(offer.expiresAt),
            })),
        })),
        invitationsStopped: stopped ? iso(stopped.at) : null,
        signIns: {
          links: links.map((row) => ({
            requestedAt: iso(row.createdAt),
            usedAt: isoOrNull(row.usedAt),
            expiresAt: iso(row.expiresAt),
          })),
          sessions: sessions.map((row) => ({ startedAt: iso(row.createdAt), expiresAt: iso(row.expiresAt) })),
        },
      };
    },
  };
}

export type PeopleService = ReturnType<typeof createPeopleService>;
