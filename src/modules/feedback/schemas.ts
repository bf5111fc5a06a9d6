import { type Static, Type } from 'typebox';
import { IsoDate, Nullable, Uuid } from '../../http/formats.js';
import { CategoryFilterValue } from '../uptake/schemas.js';

/** One person's answers; every question is optional (null: not answered). */
export interface FeedbackAnswers {
  nervous: number | null;
  useful: number | null;
  /** Students only: how nervous they feel now about a session like this (1–5). */
  nervesNow: number | null;
  comment: string | null;
  bookMyself: 'yes' | 'maybe' | 'no' | null;
}

/** The questions each person is asked, in the form's order (only a friend is asked bookMyself). */
export const FEEDBACK_QUESTIONS = {
  student: ['nervous', 'useful', 'nervesNow', 'comment'],
  companion: ['nervous', 'useful', 'bookMyself', 'comment'],
} as const satisfies Record<'student' | 'companion', readonly (keyof FeedbackAnswers)[]>;

export const FeedbackQuery = Type.Object(
  {
    from: IsoDate('First day (inclusive) of the sessions, in LIBRARY_TIME_ZONE'),
    to: IsoDate('Last day (inclusive)'),
    by: Type.String({ maxLength: 40, description: 'One category dimension key, e.g. fee_status' }),
    librarianId: Type.Optional(Uuid('Only this librarian')),
    faculty: Type.Optional(Type.String({ maxLength: 200 })),
    mode: Type.Optional(Type.Enum(['in_person', 'online'])),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
    disclosure: Type.Optional(Type.Enum(['none', 'hesa'])),
  },
  { additionalProperties: CategoryFilterValue },
);
export type FeedbackQuery = Static<typeof FeedbackQuery> & Record<string, unknown>;

const Interval = Nullable(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }));

export const FeedbackScale = Type.Object({
  answered: Type.Integer({ description: 'Responses that answered this question' }),
  mean: Nullable(Type.Number({ description: 'Mean on the 1–5 scale' })),
  distribution: Type.Array(Type.Integer(), {
    minItems: 5,
    maxItems: 5,
    description: 'How many answered 1, 2, 3, 4 and 5',
  }),
  highShare: Nullable(Type.Number({ description: 'Share answering 4 or 5' })),
  highShareCi95: Interval,
});
export type FeedbackScale = Static<typeof FeedbackScale>;

export const FeedbackGroup = Type.Object({
  requests: Type.Integer({ description: 'Feedback emails sent (one per person who attended)' }),
  responses: Type.Integer(),
  responseRate: Nullable(Type.Number()),
  nervous: FeedbackScale,
  useful: FeedbackScale,
});
export type FeedbackGroup = Static<typeof FeedbackGroup>;

export const FeedbackReport = Type.Object({
  from: Type.String(),
  to: Type.String(),
  by: Type.String(),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({
      value: Nullable(Type.String({ description: 'The category value (null: not recorded)' })),
      withCompanion: Type.Object(FeedbackGroup.properties, { description: 'Students who brought a friend' }),
      withoutCompanion: Type.Object(FeedbackGroup.properties, { description: 'Students who came alone' }),
      nervousHighDifference: Nullable(
        Type.Number({ description: 'Share quite or very nervous (4–5), with minus without a friend' }),
      ),
      nervousHighDifferenceCi95: Interval,
      usefulHighDifference: Nullable(Type.Number({ description: 'Share finding it useful (4–5), with minus without' })),
      usefulHighDifferenceCi95: Interval,
      companions: Type.Object(
        {
          ...FeedbackGroup.properties,
          bookMyself: Type.Object({
            yes: Type.Integer(),
            maybe: Type.Integer(),
            no: Type.Integer(),
            yesShare: Nullable(Type.Number({ description: 'yes / (yes + maybe + no)' })),
            yesShareCi95: Interval,
          }),
        },
        { description: "The friends who came, by the student's category value" },
      ),
    }),
  ),
});
export type FeedbackReport = Static<typeof FeedbackReport>;

export const BookingFeedback = Type.Object({
  feedback: Type.Array(
    Type.Object({
      respondent: Type.Enum(['student', 'companion']),
      companionName: Nullable(Type.String()),
      nervous: Nullable(Type.Integer()),
      useful: Nullable(Type.Integer()),
      nervesNow: Nullable(
        Type.Integer({ description: 'Students only: how nervous they feel now about such a session' }),
      ),
      bookMyself: Nullable(Type.Enum(['yes', 'maybe', 'no'])),
      comment: Nullable(Type.String()),
      updatedAt: Type.String({ format: 'date-time' }),
    }),
  ),
});

export const NervesGroup = Type.Object({
  pairs: Type.Integer({ description: 'Students who answered both: when booking, and in the feedback after' }),
  meanBefore: Nullable(Type.Number({ description: 'Mean when booking, 1 (not at all nervous) to 5 (very)' })),
  meanAfter: Nullable(Type.Number({ description: 'Mean after the session, same scale' })),
  meanChange: Nullable(Type.Number({ description: 'Mean of after − before: below 0, nerves fell' })),
  meanChangeCi95: Nullable(
    Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: "95% Student's t interval" }),
  ),
  fell: Type.Integer({ description: 'Students less nervous after than before' }),
  fellShare: Nullable(Type.Number()),
  fellShareCi95: Interval,
});
export type NervesGroup = Static<typeof NervesGroup>;

export const NervesReport = Type.Object({
  from: Type.String(),
  to: Type.String(),
  by: Type.String(),
  disclosure: Type.Enum(['none', 'hesa']),
  rows: Type.Array(
    Type.Object({
      value: Nullable(Type.String({ description: 'The category value (null: not recorded)' })),
      withCompanion: Type.Object(NervesGroup.properties, { description: 'Students who brought a friend' }),
      withoutCompanion: Type.Object(NervesGroup.properties, { description: 'Students who came alone' }),
    }),
  ),
  totals: Type.Object({ withCompanion: NervesGroup, withoutCompanion: NervesGroup }),
});
export type NervesReport = Static<typeof NervesReport>;
