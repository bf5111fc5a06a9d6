import { index, integer, jsonb, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';
import { students } from './people.js';

/** One message arm of a campaign: its key (A, B, …), its share of the cohort and its email text. */
export interface CampaignArmRow {
  key: string;
  name: string;
  /** Percent of every stratum assigned to this arm. */
  percent: number;
  subject: string;
  /** The body, with merge fields {firstName}, {library}, {bookingLink}, {friendParagraph}. */
  body: string;
  /** Included where the body says {friendParagraph}: the bring-a-friend encouragement, or empty. */
  friendParagraph: string;
}

/**
 * An invitation to book sent to a cohort, randomised: arms and a holdout, stratified by one
 * category, from a recorded seed. Once sent (status 'sent', sent_at set) the design is locked:
 * sent_at starts the outcome window.
 */
export const campaigns = pgTable('campaigns', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  hypothesis: text('hypothesis').notNull(),
  primaryOutcome: text('primary_outcome', { enum: ['booked', 'attended', 'booked_with_friend'] }).notNull(),
  arms: jsonb('arms').$type<CampaignArmRow[]>().notNull(),
  holdoutPercent: integer('holdout_percent').notNull(),
  /** The category dimension assignment is stratified by; null: one stratum. */
  stratifyBy: text('stratify_by'),
  seed: text('seed').notNull(),
  /** Emails go out no earlier than this, and are not started after send_until. */
  sendFrom: instant('send_from').notNull(),
  sendUntil: instant('send_until').notNull(),
  outcomeDays: integer('outcome_days').notNull(),
  status: text('status', { enum: ['draft', 'sent'] }).notNull(),
  sentAt: instant('sent_at'),
  /** How the cohort was made ('csv' or 'students'), and what was left out of it. */
  cohortSource: text('cohort_source'),
  optedOutLeftOut: integer('opted_out_left_out').notNull().default(0),
  duplicatesMerged: integer('duplicates_merged').notNull().default(0),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull(),
});

/**
 * A cohort member: who they are (email, until retention removes it), their categories and
 * stratum, and once sent their arm ('holdout' for none), the hashes of their two links (the
 * invitation, which opens the booking pages, and the one that stops invitations) and their email.
 */
export const campaignMembers = pgTable(
  'campaign_members',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    campaignId: uuid('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** Lower case; null once retention or an erasure has removed it (the figures stay). */
    email: text('email'),
    studentRef: text('student_ref'),
    firstName: text('first_name'),
    categories: jsonb('categories').$type<Record<string, string>>().notNull(),
    stratum: text('stratum').notNull(),
    arm: text('arm'),
    linkTokenHash: text('link_token_hash').unique(),
    stopTokenHash: text('stop_token_hash').unique(),
    linkExpiresAt: instant('link_expires_at'),
    notificationId: uuid('notification_id'),
    createdAt: createdAt(),
  },
  (t) => [
    unique('campaign_members_email_unique').on(t.campaignId, t.email),
    index('campaign_members_campaign_arm_idx').on(t.campaignId, t.arm),
  ],
);

/** A student who booked through a member's invitation link: their bookings are the member's outcome. */
export const campaignAttributions = pgTable(
  'campaign_attributions',
  {
    memberId: uuid('member_id')
      .notNull()
      .references(() => campaignMembers.id, { onDelete: 'cascade' }),
    studentId: uuid('student_id')
      .notNull()
      .references(() => students.id, { onDelete: 'cascade' }),
    at: instant('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.memberId, t.studentId] })],
);

/**
 * Addresses that asked for no more invitations (RFC 8058 one-click, or the link): every later
 * campaign leaves them out. Kept as SHA-256 of the address (lower case), not the address: enough
 * to recognise it in a later cohort, and it outlives the person's erasure, so a request to stop
 * is still honoured without keeping who made it.
 */
export const invitationOptOuts = pgTable('invitation_opt_outs', {
  emailHash: text('email_hash').primaryKey(),
  at: instant('at').notNull(),
});
