import { type Static, Type } from 'typebox';
import { ModeSchema, Nullable, TimeZoneName, Uuid } from '../../http/formats.js';
import { MEETING_URL_MAX_LENGTH } from '../../http/meeting-url.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Email = Type.String({ format: 'email', maxLength: 254 });
const Subjects = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, uniqueItems: true });
const Faculty = Type.String({ minLength: 1, maxLength: 200 });
const Location = Type.String({ minLength: 1, maxLength: 500 });
const MeetingUrl = Type.String({
  format: 'uri',
  pattern: '^(https://|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])([:/]|$))',
  maxLength: MEETING_URL_MAX_LENGTH,
  description: 'An https link (http only on this machine, for tests)',
});
const Modes = Type.Array(ModeSchema, { minItems: 1, maxItems: 2, uniqueItems: true });

export const Librarian = Type.Object({
  id: Uuid(),
  name: Type.String(),
  subjects: Type.Array(Type.String()),
  faculty: Nullable(Type.String()),
  timeZone: Type.String({ description: 'IANA zone in which the weekly availability is set' }),
  modes: Type.Array(ModeSchema),
  location: Nullable(Type.String({ description: 'Where in-person sessions happen' })),
  slotMinutes: Type.Integer(),
  maxCompanions: Type.Integer({ description: 'How many companions a student may bring' }),
  email: Type.Optional(Type.String({ description: 'Shown to admins and the librarian themself' })),
  meetingUrl: Type.Optional(Nullable(Type.String({ description: 'Shown to admins and the librarian themself' }))),
  active: Type.Optional(Type.Boolean({ description: 'Shown to admins; inactive librarians are hidden from others' })),
});
export type Librarian = Static<typeof Librarian>;

export const LibrarianList = Type.Object({ librarians: Type.Array(Librarian) });

export const CreateLibrarian = Type.Object(
  {
    email: Email,
    name: Name,
    subjects: Type.Optional(Subjects),
    faculty: Type.Optional(Faculty),
    timeZone: Type.Optional(TimeZoneName('Defaults to LIBRARY_TIME_ZONE')),
    modes: Type.Optional(Modes),
    location: Type.Optional(Location),
    meetingUrl: Type.Optional(MeetingUrl),
  },
  { additionalProperties: false },
);
export type CreateLibrarian = Static<typeof CreateLibrarian>;

export const UpdateLibrarian = Type.Object(
  {
    email: Type.Optional(Email),
    name: Type.Optional(Name),
    subjects: Type.Optional(Subjects),
    faculty: Type.Optional(Nullable(Faculty)),
    timeZone: Type.Optional(TimeZoneName('IANA zone of the weekly availability')),
    modes: Type.Optional(Modes),
    location: Type.Optional(Nullable(Location)),
    meetingUrl: Type.Optional(Nullable(MeetingUrl)),
    active: Type.Optional(Type.Boolean({ description: 'false deactivates: hidden and no longer bookable' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateLibrarian = Static<typeof UpdateLibrarian>;

export const LibrarianQuery = Type.Object(
  {
    subject: Type.Optional(
      Type.String({ maxLength: 100, description: 'Only librarians covering this subject (case-insensitive)' }),
    ),
    faculty: Type.Optional(
      Type.String({ maxLength: 200, description: 'Only librarians of this faculty (case-insensitive)' }),
    ),
    includeInactive: Type.Optional(Type.Boolean({ description: 'Admins only: include deactivated librarians' })),
  },
  { additionalProperties: false },
);
export type LibrarianQuery = Static<typeof LibrarianQuery>;
