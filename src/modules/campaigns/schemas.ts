import { type Static, Type } from 'typebox';
import { Nullable, Uuid } from '../../http/formats.js';

export const OUTCOMES = ['booked', 'attended', 'booked_with_friend'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const CampaignArm = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Z]$', description: 'One capital letter: A, B, …', examples: ['A'] }),
    name: Type.String({ minLength: 1, maxLength: 100, examples: ['Book a one-to-one'] }),
    percent: Type.Integer({ minimum: 1, maximum: 100, description: 'Share of every stratum, percent' }),
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({
      minLength: 1,
      maxLength: 10_000,
      description:
        'Plain text. Merge fields: {firstName}, {library}, {bookingLink}, {friendParagraph}. The link to stop invitations is added below it.',
    }),
    friendParagraph: Type.String({
      maxLength: 2000,
      description: 'What {friendParagraph} becomes: the bring-a-friend encouragement, or empty',
    }),
  },
  { additionalProperties: false },
);

export const CampaignDesign = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    hypothesis: Type.String({
      minLength: 1,
      maxLength: 1000,
      description: 'The sentence the campaign tests, written before sending',
      examples: ['Inviting students to bring a friend raises the share who book a session.'],
    }),
    primaryOutcome: Type.Enum([...OUTCOMES], {
      description: 'Chosen before sending: booked a session, attended one, or booked with a friend',
    }),
    arms: Type.Array(CampaignArm, { minItems: 1, maxItems: 4 }),
    holdoutPercent: Type.Integer({
      minimum: 0,
      maximum: 90,
      description: 'Share who receive nothing; arms and holdout add up to 100',
    }),
    stratifyBy: Type.Optional(
      Nullable(
        Type.String({ maxLength: 40, description: 'A category key: every share holds within each of its values' }),
      ),
    ),
    seed: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 64,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'The random seed; made at random when absent. Recorded, and shown with the results',
      }),
    ),
    sendFrom: Type.String({ format: 'date-time', description: 'No email before this' }),
    sendUntil: Type.String({ format: 'date-time', description: 'No email started after this' }),
    outcomeDays: Type.Optional(
      Type.Integer({ minimum: 7, maximum: 180, description: 'The outcome window from sending, days (default 28)' }),
    ),
  },
  { additionalProperties: false },
);
export type CampaignDesign = Static<typeof CampaignDesign>;

const CohortSummary = Type.Object({
  size: Type.Integer(),
  source: Nullable(Type.Enum(['csv', 'students'])),
  optedOutLeftOut: Type.Integer({ description: 'Left out because they asked for no invitations' }),
  duplicatesMerged: Type.Integer(),
  byStratum: Type.Array(Type.Object({ stratum: Type.String(), size: Type.Integer() })),
});

export const Campaign = Type.Object({
  id: Uuid(),
  ...CampaignDesign.properties,
  stratifyBy: Nullable(Type.String()),
  seed: Type.String(),
  outcomeDays: Type.Integer(),
  status: Type.Enum(['draft', 'sent'], { description: 'Once sent, the design is locked' }),
  sentAt: Nullable(Type.String({ format: 'date-time', description: 'The outcome window starts here' })),
  outcomeEndsAt: Nullable(Type.String({ format: 'date-time' })),
  cohort: CohortSummary,
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Campaign = Static<typeof Campaign>;

export const CohortFromStudents = Type.Object(
  {
    fromStudents: Type.Object(
      {
        categories: Type.Optional(
          Type.Record(Type.String({ maxLength: 40 }), Type.Array(Type.String({ maxLength: 40 }), { maxItems: 50 }), {
            description: 'Only students with one of these values for each key, e.g. {"fee_status": ["international"]}',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const Figure = Type.Object({
  count: Type.Integer(),
  rate: Nullable(Type.Number()),
  ci95: Nullable(Type.Tuple([Type.Number(), Type.Number()])),
});

const ArmFigures = Type.Object({
  arm: Type.String({ description: 'An arm key, or holdout' }),
  name: Type.String(),
  assigned: Type.Integer(),
  emailed: Type.Integer({ description: 'Emails sent' }),
  bounced: Type.Integer({ description: 'Emails that could not be delivered (counted in, by assignment)' }),
  booked: Figure,
  attended: Figure,
  bookedWithFriend: Figure,
  friendCame: Figure,
});

export const CampaignResults = Type.Object({
  campaign: Campaign,
  provisional: Type.Boolean({ description: 'The outcome window is still open: every figure may still change' }),
  disclosure: Type.Enum(['none', 'hesa']),
  arms: Type.Array(ArmFigures),
  strata: Type.Array(Type.Object({ stratum: Type.String(), arms: Type.Array(ArmFigures) })),
  comparisons: Type.Array(
    Type.Object({
      stratum: Nullable(Type.String({ description: 'null: everyone' })),
      arm: Type.String(),
      against: Type.String(),
      outcome: Type.Enum([...OUTCOMES]),
      differencePoints: Nullable(Type.Number({ description: 'Percentage points, arm minus against' })),
      ci95Points: Nullable(Type.Tuple([Type.Number(), Type.Number()], { description: 'Newcombe hybrid score' })),
      pValue: Nullable(Type.Number({ description: 'Two-sided, pooled two-proportion z-test' })),
      sentence: Type.String(),
    }),
  ),
});
export type CampaignResults = Static<typeof CampaignResults>;
