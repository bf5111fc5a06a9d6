import { type Static, Type } from 'typebox';
import { Instant, IsoDate, ModeSchema, Nullable, TimeOfDay, TimeZoneName, Uuid } from '../../http/formats.js';

export const WeeklyRuleSchema = Type.Object(
  {
    weekday: Type.Integer({ minimum: 1, maximum: 7, description: '1 = Monday … 7 = Sunday' }),
    start: TimeOfDay('Wall-clock start in the librarian zone, HH:mm'),
    end: TimeOfDay('Wall-clock end in the librarian zone, HH:mm; after start'),
    validFrom: Type.Optional(IsoDate('First date the rule applies (inclusive)')),
    validTo: Type.Optional(IsoDate('Last date the rule applies (inclusive)')),
    mode: Type.Optional(ModeSchema),
    location: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'Overrides the librarian location' }),
    ),
  },
  { additionalProperties: false },
);

const settings = {
  timeZone: TimeZoneName('IANA zone the weekly times are in'),
  slotMinutes: Type.Integer({ minimum: 5, maximum: 480, description: 'Session length, and the grid slots start on' }),
  bufferMinutes: Type.Integer({ minimum: 0, maximum: 240, description: 'Kept free after each session' }),
  minNoticeMinutes: Type.Integer({
    minimum: 0,
    maximum: 43200,
    description: 'How soon before its start a slot may be booked',
  }),
  horizonDays: Type.Integer({ minimum: 1, maximum: 730, description: 'How far ahead slots are offered' }),
  maxCompanions: Type.Integer({ minimum: 0, maximum: 5, description: 'Companions a student may bring' }),
};

export const Availability = Type.Object({
  librarianId: Uuid(),
  ...settings,
  weekly: Type.Array(WeeklyRuleSchema),
});
export type Availability = Static<typeof Availability>;

export const PutAvailability = Type.Object(
  {
    timeZone: Type.Optional(settings.timeZone),
    slotMinutes: Type.Optional(settings.slotMinutes),
    bufferMinutes: Type.Optional(settings.bufferMinutes),
    minNoticeMinutes: Type.Optional(settings.minNoticeMinutes),
    horizonDays: Type.Optional(settings.horizonDays),
    maxCompanions: Type.Optional(settings.maxCompanions),
    weekly: Type.Array(WeeklyRuleSchema, { maxItems: 100, description: 'Replaces all weekly rules' }),
  },
  { additionalProperties: false },
);
export type PutAvailability = Static<typeof PutAvailability>;

const DateOrInstant = (description: string) =>
  Type.Union([IsoDate(`${description}: a whole local day`), Instant(`${description}: an exact instant`)]);

export const CreateOverride = Type.Object(
  {
    kind: Type.Enum(['closed', 'open'], {
      description: 'closed removes time (leave, closures); open adds extra hours',
    }),
    from: DateOrInstant('Start'),
    to: DateOrInstant('End (a date is inclusive; an instant exclusive)'),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type CreateOverride = Static<typeof CreateOverride>;

export const CreateClosure = Type.Object(
  {
    from: DateOrInstant('Start'),
    to: DateOrInstant('End (a date is inclusive; an instant exclusive)'),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type CreateClosure = Static<typeof CreateClosure>;

export const Override = Type.Object({
  id: Uuid(),
  librarianId: Nullable(Uuid('null for a library-wide closure')),
  kind: Type.Enum(['closed', 'open']),
  allDay: Type.Boolean({ description: 'true: from/to are whole local dates (inclusive)' }),
  from: Type.String(),
  to: Type.String(),
  reason: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Override = Static<typeof Override>;

export const OverrideList = Type.Object({ overrides: Type.Array(Override) });

export const OverrideQuery = Type.Object(
  {
    from: Type.Optional(IsoDate('Only overrides ending on or after this date')),
    to: Type.Optional(IsoDate('Only overrides starting on or before this date')),
  },
  { additionalProperties: false },
);
export type OverrideQuery = Static<typeof OverrideQuery>;

export const OverrideParams = Type.Object({ id: Uuid('The librarian id'), overrideId: Uuid('The override id') });
export const ClosureParams = Type.Object({ closureId: Uuid('The closure id') });

export const SlotQuery = Type.Object(
  {
    from: IsoDate('First day, in tz'),
    to: IsoDate('Last day, in tz (inclusive); at most 62 days after from'),
    tz: Type.Optional(TimeZoneName('IANA zone to show times in; defaults to the librarian zone')),
  },
  { additionalProperties: false },
);
export type SlotQuery = Static<typeof SlotQuery>;

export const SlotList = Type.Object({
  librarianId: Uuid(),
  timeZone: Type.String({ description: 'The zone the times are shown in' }),
  slotMinutes: Type.Integer(),
  slots: Type.Array(
    Type.Object({
      start: Type.String({ format: 'date-time' }),
      end: Type.String({ format: 'date-time' }),
      modes: Type.Array(ModeSchema),
      location: Nullable(Type.String()),
    }),
  ),
});
export type SlotList = Static<typeof SlotList>;
