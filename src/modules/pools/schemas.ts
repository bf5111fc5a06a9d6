import { type Static, Type } from 'typebox';
import { IsoDate, ModeSchema, Nullable, TimeZoneName, Uuid } from '../../http/formats.js';
import { CreateBooking } from '../bookings/schemas.js';

const Subject = Type.String({ minLength: 1, maxLength: 200, description: 'A subject librarians list (any case)' });

export const PoolQuery = Type.Object(
  {
    subject: Type.Optional(Subject),
    team: Type.Optional(Uuid('A team')),
  },
  { additionalProperties: false },
);

export const PoolSlotQuery = Type.Object(
  {
    subject: Type.Optional(Subject),
    team: Type.Optional(Uuid('A team')),
    from: IsoDate('First local date'),
    to: IsoDate('Last local date (at most 62 days after from)'),
    tz: Type.Optional(TimeZoneName('The zone the dates and times are in (default: the library’s)')),
  },
  { additionalProperties: false },
);
export type PoolSlotQuery = Static<typeof PoolSlotQuery>;

export const PoolSlotList = Type.Object({
  pool: Type.String({ description: 'subject:<name> or team:<id>' }),
  name: Type.String({ description: 'What the pool is called (the subject, or the team’s name)' }),
  timeZone: Type.String(),
  slots: Type.Array(
    Type.Object({
      start: Type.String({ description: 'With its offset, in timeZone' }),
      end: Type.String(),
      modes: Type.Array(ModeSchema, { description: 'Every way some librarian free then offers' }),
      locations: Type.Array(Type.String(), { description: 'Where, for in-person sessions, when they differ' }),
    }),
    { description: 'Each time once, however many librarians are free then' },
  ),
});

export type PoolSlotList = Static<typeof PoolSlotList>;

export const PoolList = Type.Object({
  subjects: Type.Array(Type.Object({ name: Type.String(), librarians: Type.Integer() })),
  teams: Type.Array(
    Type.Object({ id: Uuid(), name: Type.String(), description: Nullable(Type.String()), librarians: Type.Integer() }),
  ),
});

const { librarianId: _librarianId, ...bookingFields } = CreateBooking.properties;
export const CreatePooledBooking = Type.Object(
  {
    subject: Type.Optional(Subject),
    team: Type.Optional(Uuid('A team')),
    ...bookingFields,
  },
  { additionalProperties: false },
);
export type CreatePooledBooking = Static<typeof CreatePooledBooking>;

export const TeamInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    librarianIds: Type.Array(Uuid(), { maxItems: 200, description: 'Its members' }),
  },
  { additionalProperties: false },
);
export type TeamInput = Static<typeof TeamInput>;

export const Team = Type.Object({
  id: Uuid(),
  name: Type.String(),
  description: Nullable(Type.String()),
  librarianIds: Type.Array(Uuid()),
});
export const TeamList = Type.Array(Team);
