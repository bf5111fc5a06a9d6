import { type Static, Type } from 'typebox';
import { Nullable } from '../../http/formats.js';

const When = Type.String({ format: 'date-time' });

export const PersonQuery = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254, description: 'The person’s email address (any case)' }) },
  { additionalProperties: false },
);

/**
 * Everything Liaison holds about one person, found by email, as a student and as a friend: for a
 * subject access request. Other people appear only as the person gave them (their friends' names
 * and emails on their own bookings) or by role (the librarian's name).
 */
export const PersonExport = Type.Object({
  email: Type.String(),
  exportedAt: When,
  students: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Nullable(Type.String()),
      email: Nullable(Type.String()),
      categories: Type.Record(Type.String(), Type.String()),
      categoriesAnsweredAt: Nullable(When),
      language: Nullable(Type.String()),
      createdAt: When,
    }),
    { description: 'Student records with this email (one per sign-in identity)' },
  ),
  bookings: Type.Array(
    Type.Object({
      id: Type.String(),
      librarian: Nullable(Type.String()),
      start: When,
      end: When,
      status: Type.String(),
      mode: Type.String(),
      topic: Nullable(Type.String()),
      attendance: Nullable(Type.String()),
      categoriesAtBooking: Type.Record(Type.String(), Type.String()),
      nervesBefore: Nullable(Type.Integer()),
      cameAsFriendBefore: Nullable(Type.Boolean()),
      timeZone: Nullable(Type.String()),
      cancellationReason: Nullable(Type.String()),
      createdAt: When,
      friends: Type.Array(
        Type.Object({
          name: Nullable(Type.String()),
          email: Nullable(Type.String()),
          role: Type.String(),
          status: Type.String(),
        }),
        { description: 'As the person gave them' },
      ),
    }),
    { description: 'Sessions the person booked as a student' },
  ),
  invitations: Type.Array(
    Type.Object({
      bookingId: Type.String(),
      librarian: Nullable(Type.String()),
      start: When,
      end: When,
      name: Nullable(Type.String()),
      role: Type.String(),
      status: Type.String(),
      confirmed: Type.Boolean(),
      attended: Nullable(Type.Boolean()),
      language: Nullable(Type.String()),
      categories: Nullable(Type.Record(Type.String(), Type.String())),
      invitedAt: When,
    }),
    { description: 'Sessions the person was invited to as a friend (the inviting student is left out)' },
  ),
  feedback: Type.Array(
    Type.Object({
      bookingId: Type.String(),
      as: Type.Enum(['student', 'companion']),
      nervous: Nullable(Type.Integer()),
      useful: Nullable(Type.Integer()),
      nervesNow: Nullable(Type.Integer()),
      bookMyself: Nullable(Type.String()),
      comment: Nullable(Type.String()),
      submittedAt: When,
    }),
  ),
  emails: Type.Array(
    Type.Object({ kind: Type.String(), status: Type.String(), queuedAt: When, sentAt: Nullable(When) }),
    { description: 'Emails sent or queued to this address: kind, time and status (not their bodies)' },
  ),
  campaigns: Type.Array(
    Type.Object({
      campaign: Type.String(),
      studentRef: Nullable(Type.String()),
      firstName: Nullable(Type.String()),
      categories: Type.Record(Type.String(), Type.String()),
      arm: Nullable(Type.String({ description: 'The arm assigned when it was sent (holdout: no email)' })),
      addedAt: When,
    }),
    { description: 'Campaign cohorts the address is in' },
  ),
  waitlist: Type.Array(
    Type.Object({
      waitingFor: Type.String({ description: 'librarian:<id>, a subject, or team:<id>' }),
      from: Type.String({ format: 'date' }),
      to: Type.String({ format: 'date' }),
      weekdays: Type.Array(Type.Integer()),
      earliest: Nullable(Type.String()),
      latest: Nullable(Type.String()),
      friendName: Nullable(Type.String()),
      friendEmail: Nullable(Type.String()),
      status: Type.String(),
      joinedAt: When,
      endedAt: Nullable(When),
      offers: Type.Array(Type.Object({ start: When, end: When, status: Type.String(), expiresAt: When })),
    }),
    { description: 'Times they waited for, with the friend they named and the times offered' },
  ),
  invitationsStopped: Nullable(When),
  signIns: Type.Object({
    links: Type.Array(Type.Object({ requestedAt: When, usedAt: Nullable(When), expiresAt: When })),
    sessions: Type.Array(Type.Object({ startedAt: When, expiresAt: When }), {
      description: 'Browser sessions signed in as one of the student records',
    }),
  }),
});
export type PersonExport = Static<typeof PersonExport>;

export const EraseRequest = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254, description: 'The person’s email address (any case)' }) },
  { additionalProperties: false },
);

export const ErasureResult = Type.Object({
  email: Type.String(),
  students: Type.Integer({ description: 'Student records made anonymous' }),
  invitations: Type.Integer({ description: 'Friend invitations made anonymous' }),
  cancelled: Type.Integer({ description: 'Upcoming bookings cancelled first, with the usual emails' }),
});
