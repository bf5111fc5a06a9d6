import { type Static, Type } from 'typebox';
import { IsoDate, Nullable, TimeOfDay, Uuid } from '../../http/formats.js';

export const JoinWaitlist = Type.Object(
  {
    librarianId: Type.Optional(Uuid('Wait for this librarian')),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Or any librarian of a subject' })),
    team: Type.Optional(Uuid('Or any librarian of a team')),
    from: IsoDate('First day that would do (library’s zone)'),
    to: IsoDate('Last day that would do (at most 90 days ahead)'),
    weekdays: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
        maxItems: 7,
        description: 'ISO weekdays that would do (1 Monday … 7 Sunday); none: any',
      }),
    ),
    earliest: Type.Optional(TimeOfDay('Earliest start that would do (HH:MM, library’s zone)')),
    latest: Type.Optional(TimeOfDay('Latest end that would do (HH:MM, library’s zone)')),
    companion: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200 }),
          email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
        },
        { additionalProperties: false, description: 'A friend to book with, when a time is taken' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type JoinWaitlist = Static<typeof JoinWaitlist>;

const Offer = Type.Object({
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time', description: 'Accept before this' }),
  broadcast: Type.Boolean({ description: 'Offered to everyone waiting for it: the first to accept gets it' }),
});

export const WaitlistEntry = Type.Object({
  id: Uuid(),
  pool: Type.String({ description: 'librarian:<id>, subject:<name> or team:<id>' }),
  name: Type.String({ description: 'The librarian’s, subject’s or team’s name' }),
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  weekdays: Type.Array(Type.Integer()),
  earliest: Nullable(Type.String()),
  latest: Nullable(Type.String()),
  companionName: Nullable(Type.String()),
  status: Type.Enum(['waiting', 'booked', 'left', 'ended']),
  offer: Nullable(Offer),
  createdAt: Type.String({ format: 'date-time' }),
});
export const WaitlistEntryList = Type.Array(WaitlistEntry);

export const OfferTokenQuery = Type.Object({ token: Type.String({ minLength: 20, maxLength: 100 }) });

export const WaitlistOffer = Type.Object({
  status: Type.Enum(['open', 'accepted', 'expired', 'declined', 'lost']),
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time' }),
  broadcast: Type.Boolean(),
  librarianName: Type.String(),
  companionName: Nullable(Type.String()),
  bookingId: Nullable(Uuid()),
});

export const WaitingCounts = Type.Array(Type.Object({ pool: Type.String(), waiting: Type.Integer() }));

export const WaitlistFiguresQuery = Type.Object(
  {
    from: IsoDate('First day joined (library’s zone)'),
    to: IsoDate('Last day joined'),
    groupBy: Type.Optional(Type.String({ maxLength: 40, description: 'A category dimension, e.g. fee_status' })),
    disclosure: Type.Optional(
      Type.Enum(['none', 'hesa'], {
        description: 'hesa: every count rounded to the nearest 5 (0-2 to 0), for sharing. Default none',
      }),
    ),
  },
  { additionalProperties: false },
);

export const WaitlistFigures = Type.Array(
  Type.Object({
    month: Type.String({ description: 'YYYY-MM, when they joined' }),
    pool: Type.String({ description: 'librarian:<id>, subject:<name> or team:<id>' }),
    name: Type.String({ description: 'The librarian’s, subject’s or team’s name' }),
    group: Nullable(Type.String({ description: 'The category value (null: not grouped, or not given)' })),
    joined: Type.Integer({ description: 'Entries made' }),
    offered: Type.Integer({ description: 'Of those, offered a time at least once' }),
    accepted: Type.Integer({ description: 'Of those, took a time' }),
    expiredOffers: Type.Integer({ description: 'Offers to them that ran out' }),
  }),
);
