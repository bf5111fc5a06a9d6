import { type Static, Type } from 'typebox';
import { described, Instant, IsoDate, Language, ModeSchema, Nullable, TimeZoneName, Uuid } from '../../http/formats.js';
import { CategoryValues } from '../categories/schemas.js';

const CompanionRole = Type.Enum(['friend', 'family', 'support'], {
  description:
    'Who the companion is to the student: friend (or classmate, the default), family, or support (a support worker or interpreter, left out of the figures about bringing a friend)',
});

export const CompanionInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: "The companion's name" }),
    email: Type.Optional(
      Type.String({ format: 'email', maxLength: 254, description: 'Where their invitation and decline link go' }),
    ),
    categories: Type.Optional(CategoryValues),
    role: Type.Optional(CompanionRole),
    language: Type.Optional(Language("The language of the companion's emails. Default: the student's")),
  },
  { additionalProperties: false },
);
export type CompanionInput = Static<typeof CompanionInput>;

/** A companion to add, or (with companionId) a correction of one already invited. */
export const PutCompanion = Type.Object(
  {
    ...CompanionInput.properties,
    companionId: Type.Optional(
      Uuid(
        "Correct this companion's name or email instead of adding one: the same person, still invited; a new email gets the invitation, the old one nothing",
      ),
    ),
  },
  { additionalProperties: false },
);
export type PutCompanion = Static<typeof PutCompanion>;

export const CreateBooking = Type.Object(
  {
    librarianId: Uuid('Who the session is with'),
    start: Instant('One of the starts GET /librarians/{id}/slots offers, with its offset'),
    mode: Type.Optional(
      described(
        ModeSchema,
        "in_person or online. Default: the slot's first offered mode, in the order the librarian lists their modes (the slot's modes are in GET /slots)",
      ),
    ),
    topic: Type.Optional(Type.String({ maxLength: 2000, description: 'What the student would like help with' })),
    companion: Type.Optional(CompanionInput),
    companions: Type.Optional(
      Type.Array(CompanionInput, { maxItems: 5, description: 'Several companions, where allowed' }),
    ),
    timeZone: Type.Optional(
      TimeZoneName("The student's own IANA zone (their browser's): emails show the time in it as well"),
    ),
    nervesBefore: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 5,
        description:
          'How the student feels about the session, booking it: 1 not at all nervous to 5 very nervous. Never shown to the librarian; compared with the feedback answer after (GET /uptake/nerves)',
      }),
    ),
    cameAsFriendBefore: Type.Optional(
      Type.Boolean({
        description:
          "The student first came to a library session as someone's friend (GET /uptake/friends-later counts them)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateBooking = Static<typeof CreateBooking>;

export const Companion = Type.Object({
  id: Uuid(),
  name: Nullable(Type.String()),
  email: Type.Optional(Nullable(Type.String())),
  status: Type.Enum(['invited', 'declined', 'removed']),
  role: CompanionRole,
  confirmed: Type.Boolean({ description: 'An invited companion said they will come' }),
  language: Nullable(Language("The language of the companion's emails; null: the student's")),
  attended: Nullable(Type.Boolean()),
});

export const Booking = Type.Object({
  id: Uuid(),
  status: Type.Enum(['confirmed', 'cancelled']),
  source: Type.Enum(['booked', 'recorded', 'imported'], {
    description: 'booked here, recorded afterwards, or imported',
  }),
  librarian: Nullable(Type.Object({ id: Uuid(), name: Type.String() })),
  student: Nullable(
    Type.Object({ id: Uuid(), name: Nullable(Type.String()), email: Type.Optional(Nullable(Type.String())) }),
  ),
  start: Type.String({ format: 'date-time', description: 'In the librarian zone' }),
  end: Type.String({ format: 'date-time', description: 'In the librarian zone' }),
  startUtc: Type.String({ format: 'date-time' }),
  endUtc: Type.String({ format: 'date-time' }),
  timeZone: Type.String({ description: 'The librarian zone' }),
  mode: ModeSchema,
  location: Nullable(Type.String()),
  meetingUrl: Nullable(Type.String()),
  topic: Nullable(Type.String()),
  studentCategories: Type.Optional(
    described(CategoryValues, "The student's categories at booking; not shown to companions"),
  ),
  companions: Type.Array(Companion),
  attendance: Nullable(Type.Enum(['attended', 'no_show'])),
  effort: Type.Optional(
    Nullable(
      Type.Integer({
        description: 'READ scale effort (1–6) the librarian recorded; shown to staff, not to the student',
      }),
    ),
  ),
  cancellation: Nullable(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      by: Type.String(),
      reason: Nullable(Type.String()),
      late: Type.Boolean({ description: 'Cancelled under 24 hours before the start' }),
    }),
  ),
  sequence: Type.Integer({ description: 'iCalendar SEQUENCE: rises with every change' }),
  createdAt: Type.String({ format: 'date-time' }),
  links: Type.Optional(
    Type.Object(
      {
        manage: Type.Optional(
          Type.String({ description: "The student's manage link (view, cancel, reschedule, companion)" }),
        ),
        companions: Type.Array(Type.Object({ companionId: Uuid(), manage: Type.String() }), {
          description: "Each new companion's own link (view and decline)",
        }),
      },
      { description: 'Only in the response that issues them: tokens are stored hashed and cannot be shown again' },
    ),
  ),
});
export type Booking = Static<typeof Booking>;

export const BookingList = Type.Object({
  bookings: Type.Array(Booking),
  total: Type.Integer({ description: 'Matching bookings in all pages' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const DateOrInstant = (description: string) =>
  Type.Union([IsoDate(`${description} (a date: in LIBRARY_TIME_ZONE)`), Instant(description)]);

export const BookingQuery = Type.Object(
  {
    from: Type.Optional(DateOrInstant('Sessions starting at or after')),
    to: Type.Optional(DateOrInstant('Sessions starting before (a date: up to the end of that day)')),
    status: Type.Optional(Type.Enum(['confirmed', 'cancelled'])),
    librarianId: Type.Optional(Uuid('Only this librarian’s sessions')),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size' }),
    offset: Type.Integer({
      minimum: 0,
      maximum: 1000000,
      default: 0,
      description: 'Rows to skip (limit/offset paging)',
    }),
  },
  { additionalProperties: false },
);
export type BookingQuery = Static<typeof BookingQuery>;

export const TokenQuery = Type.Object(
  {
    token: Type.Optional(
      Type.String({ minLength: 20, maxLength: 100, description: 'Manage token from an email link' }),
    ),
  },
  { additionalProperties: false },
);

export const CancelBooking = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export type CancelBooking = Static<typeof CancelBooking>;

export const RescheduleBooking = Type.Object(
  { start: Instant('The new start: one of the offered slots'), mode: Type.Optional(ModeSchema) },
  { additionalProperties: false },
);
export type RescheduleBooking = Static<typeof RescheduleBooking>;

export const RemoveCompanionQuery = Type.Object(
  {
    token: Type.Optional(Type.String({ minLength: 20, maxLength: 100 })),
    companionId: Type.Optional(Uuid('Remove only this companion (default: all)')),
  },
  { additionalProperties: false },
);

export const Attendance = Type.Object(
  {
    student: Type.Enum(['attended', 'no_show']),
    companion: Type.Optional(Type.Boolean({ description: 'Whether the companion came (all of them, when several)' })),
    companions: Type.Optional(
      Type.Array(Type.Object({ companionId: Uuid(), attended: Type.Boolean() }, { additionalProperties: false }), {
        maxItems: 5,
        description: 'Whether each companion came, one by one (instead of companion)',
      }),
    ),
    effort: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 6,
        description:
          'The effort the session took on the READ scale (Reference Effort Assessment Data, Gerlich): 1 least to 6 most. GET /uptake/effort compares sessions with and without a friend',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Attendance = Static<typeof Attendance>;

export const RecordSession = Type.Object(
  {
    librarianId: Type.Optional(Uuid('Required for admins; librarians record their own')),
    start: Instant('When the session started'),
    minutes: Type.Integer({ minimum: 5, maximum: 480 }),
    mode: Type.Optional(ModeSchema),
    studentCategories: CategoryValues,
    companion: Type.Boolean({ description: 'Whether the student brought a companion' }),
    attendance: Type.Enum(['attended', 'no_show']),
  },
  { additionalProperties: false },
);
export type RecordSession = Static<typeof RecordSession>;

export const BookingEvent = Type.Object({
  id: Type.Integer(),
  actor: Type.String(),
  action: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  at: Type.String({ format: 'date-time' }),
});
export const BookingEventList = Type.Object({ events: Type.Array(BookingEvent) });

/** Retry-safe creation: Idempotency-Key. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Retry-safe creation: the same key and body within 24 hours returns the first booking',
    }),
  ),
});
