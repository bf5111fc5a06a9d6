import { type Static, Type } from 'typebox';
import { IsoDate, Nullable, Uuid } from '../../http/formats.js';

export const CategoryFilterValue = Type.String({
  maxLength: 40,
  description: 'A category dimension key as a filter, e.g. fee_status=international',
});

export const UptakeQuery = Type.Object(
  {
    from: IsoDate('First day (inclusive), in LIBRARY_TIME_ZONE'),
    to: IsoDate('Last day (inclusive), in LIBRARY_TIME_ZONE'),
    groupBy: Type.Optional(
      Type.String({
        maxLength: 200,
        description:
          'Comma-separated: category dimension keys, companion, librarian, faculty, mode, and at most one period of week, month, term, year (academic)',
        examples: ['fee_status,companion'],
      }),
    ),
    librarianId: Type.Optional(Uuid('Only this librarian')),
    faculty: Type.Optional(Type.String({ maxLength: 200 })),
    mode: Type.Optional(Type.Enum(['in_person', 'online'])),
    companion: Type.Optional(Type.Boolean({ description: 'Only bookings with (true) or without (false) a companion' })),
    fill: Type.Optional(Type.Boolean({ description: 'Include groups with no bookings, as zeros' })),
    format: Type.Optional(Type.Enum(['json', 'csv'], { description: 'csv, or send Accept: text/csv' })),
    disclosure: Type.Optional(
      Type.Enum(['none', 'hesa'], {
        description:
          'hesa: counts rounded to the nearest 5 (0-2 to 0), rates suppressed under 23, and in CSV groups under 5 students suppressed. Default none',
      }),
    ),
  },
  { additionalProperties: CategoryFilterValue },
);
export type UptakeQuery = Static<typeof UptakeQuery> & Record<string, unknown>;

export const CompanionEffectQuery = Type.Object(
  {
    from: IsoDate('First day (inclusive), in LIBRARY_TIME_ZONE'),
    to: IsoDate('Last day (inclusive), in LIBRARY_TIME_ZONE'),
    by: Type.String({ maxLength: 40, description: 'One category dimension key, e.g. fee_status' }),
    librarianId: Type.Optional(Uuid('Only this librarian')),
    faculty: Type.Optional(Type.String({ maxLength: 200 })),
    mode: Type.Optional(Type.Enum(['in_person', 'online'])),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
    disclosure: Type.Optional(Type.Enum(['none', 'hesa'])),
  },
  { additionalProperties: CategoryFilterValue },
);
export type CompanionEffectQuery = Static<typeof CompanionEffectQuery> & Record<string, unknown>;

const Interval = Nullable(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }));

export const UptakeFigures = Type.Object({
  bookings: Type.Integer(),
  cancelled: Type.Integer({ description: 'Including late cancellations' }),
  lateCancelled: Type.Integer({ description: 'Cancelled under 24 hours before the start' }),
  attended: Type.Integer(),
  noShow: Type.Integer(),
  unrecorded: Type.Integer({ description: 'Past, confirmed, no attendance recorded' }),
  upcoming: Type.Integer(),
  attendanceRate: Nullable(Type.Number({ description: 'attended / (attended + noShow)' })),
  attendanceRateCi95: Interval,
  uniqueStudents: Type.Integer(),
  uniqueAttendees: Type.Integer(),
  uptakeRate: Nullable(
    Type.Number({ description: 'uniqueAttendees / cohort size, when grouped by term and one category' }),
  ),
  supportBookings: Type.Integer({
    description:
      'Bookings with a support worker or interpreter (an accessibility adjustment, counted apart: never as a companion)',
  }),
});

export const UptakeReport = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.Array(Type.String()),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({
      group: Type.Record(Type.String(), Nullable(Type.Union([Type.String(), Type.Boolean()]))),
      ...UptakeFigures.properties,
    }),
  ),
  totals: UptakeFigures,
});
export type UptakeReport = Static<typeof UptakeReport>;

const Side = Type.Object({
  bookings: Type.Integer(),
  attended: Type.Integer(),
  noShow: Type.Integer(),
  attendanceRate: Nullable(Type.Number()),
  attendanceRateCi95: Interval,
});

export const CompanionEffectReport = Type.Object({
  by: Type.String(),
  from: Type.String(),
  to: Type.String(),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({
      value: Nullable(Type.String({ description: 'The category value (null: not recorded)' })),
      withCompanion: Side,
      withoutCompanion: Side,
      difference: Nullable(Type.Number({ description: 'Attendance rate with minus without' })),
      differenceCi95: Interval,
      pValue: Nullable(Type.Number({ description: 'Pooled two-proportion z-test, two-sided' })),
      companionShare: Nullable(Type.Number({ description: 'Bookings with a companion / all bookings' })),
      lowCount: Type.Boolean({ description: 'Either side has under 10 bookings' }),
    }),
  ),
});
export type CompanionEffectReport = Static<typeof CompanionEffectReport>;

export const CompareQuery = Type.Object(
  {
    by: Type.String({ maxLength: 40, description: 'One category dimension key, e.g. fee_status' }),
    beforeFrom: IsoDate('First day of the earlier period (inclusive), in LIBRARY_TIME_ZONE'),
    beforeTo: IsoDate('Last day of the earlier period (inclusive)'),
    afterFrom: IsoDate('First day of the later period (inclusive)'),
    afterTo: IsoDate('Last day of the later period (inclusive)'),
    librarianId: Type.Optional(Uuid('Only this librarian')),
    faculty: Type.Optional(Type.String({ maxLength: 200 })),
    mode: Type.Optional(Type.Enum(['in_person', 'online'])),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
    disclosure: Type.Optional(Type.Enum(['none', 'hesa'])),
  },
  { additionalProperties: CategoryFilterValue },
);
export type CompareQuery = Static<typeof CompareQuery> & Record<string, unknown>;

const PeriodFigures = Type.Object({
  bookings: Type.Integer(),
  uniqueStudents: Type.Integer({ description: 'Students who booked' }),
  uniqueAttendees: Type.Integer({ description: 'Students who attended at least once' }),
  cohortSize: Nullable(
    Type.Integer({
      description:
        'Students with this value: the largest cohort size among the terms overlapping the period (a student enrolled in several terms counts once); null when no overlapping term has one',
    }),
  ),
  uptakeRate: Nullable(Type.Number({ description: 'uniqueAttendees / cohortSize' })),
  uptakeRateCi95: Interval,
});

export const CompareReport = Type.Object({
  by: Type.String(),
  before: Type.Object({ from: Type.String(), to: Type.String(), terms: Type.Array(Type.String()) }),
  after: Type.Object({ from: Type.String(), to: Type.String(), terms: Type.Array(Type.String()) }),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({
      value: Nullable(Type.String({ description: 'The category value (null: not recorded)' })),
      before: PeriodFigures,
      after: PeriodFigures,
      attendeesChange: Type.Integer({ description: 'after.uniqueAttendees − before.uniqueAttendees' }),
      uptakeChange: Nullable(Type.Number({ description: 'after.uptakeRate − before.uptakeRate' })),
      uptakeChangeCi95: Nullable(
        Type.Array(Type.Number(), {
          minItems: 2,
          maxItems: 2,
          description: "95% interval by Newcombe's hybrid score method (independent proportions)",
        }),
      ),
      pValue: Nullable(Type.Number({ description: 'Pooled two-proportion z-test, two-sided' })),
    }),
  ),
});
export type CompareReport = Static<typeof CompareReport>;

export const FriendsLaterQuery = Type.Object(
  {
    from: IsoDate('First day (inclusive) of the sessions the friends came to, in LIBRARY_TIME_ZONE'),
    to: IsoDate('Last day (inclusive), in LIBRARY_TIME_ZONE'),
    by: Type.Optional(Type.String({ maxLength: 40, description: 'One category dimension key, e.g. fee_status' })),
    of: Type.Optional(
      Type.Enum(['friend', 'student'], {
        description:
          "Whose category `by` reads: the friend's own (as the student gave it; unknown when not given) or the student's who brought them. Default friend",
      }),
    ),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
    disclosure: Type.Optional(Type.Enum(['none', 'hesa'])),
  },
  { additionalProperties: false },
);
export type FriendsLaterQuery = Static<typeof FriendsLaterQuery>;

const LaterFigures = {
  friends: Type.Integer({
    description:
      'Friends (or family; never support workers) who came to a session in the range, with an email: each person once, at their first such session',
  }),
  bookedLater: Type.Integer({
    description: 'Of them, those who later booked a session for themselves (their email signed in and booked)',
  }),
  bookedLaterRate: Nullable(Type.Number()),
  bookedLaterRateCi95: Interval,
  attendedLater: Type.Integer({ description: 'Of them, those who came to a session of their own' }),
  attendedLaterRate: Nullable(Type.Number()),
  attendedLaterRateCi95: Interval,
  saidCameAsFriend: Type.Integer({
    description:
      "Students who, booking a session in the range, said they first came as someone's friend (counted by their own category when of=student; unknown otherwise)",
  }),
};

export const FriendsLaterReport = Type.Object({
  from: Type.String(),
  to: Type.String(),
  by: Nullable(Type.String()),
  of: Type.Enum(['friend', 'student']),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(Type.Object({ value: Nullable(Type.String()), ...LaterFigures })),
  totals: Type.Object(LaterFigures),
});
export type FriendsLaterReport = Static<typeof FriendsLaterReport>;

export const EffortGroup = Type.Object({
  rated: Type.Integer({ description: 'Sessions whose effort the librarian rated' }),
  distribution: Type.Array(Type.Integer(), { minItems: 6, maxItems: 6, description: 'How many at READ 1 to 6' }),
  mean: Nullable(Type.Number({ description: 'Mean READ level' })),
  meanCi95: Nullable(Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: "95% Student's t interval" })),
});
export type EffortGroup = Static<typeof EffortGroup>;

export const EffortReport = Type.Object({
  from: Type.String(),
  to: Type.String(),
  by: Type.String(),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({ value: Nullable(Type.String()), withCompanion: EffortGroup, withoutCompanion: EffortGroup }),
  ),
  totals: Type.Object({ withCompanion: EffortGroup, withoutCompanion: EffortGroup }),
});
export type EffortReport = Static<typeof EffortReport>;
