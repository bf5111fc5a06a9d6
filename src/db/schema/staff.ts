import { bigserial, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';

import { instant } from './columns.js';

/**
 * The record of staff actions: who (the signed-in person's email, else their identity key) did
 * what, when, to what, with the values before and after (never secrets). Kept
 * STAFF_RECORD_MONTHS; admins read it.
 */
export const staffActions = pgTable(
  'staff_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: instant('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    /** What the action was about: a record's id, or a person's email for an export. */
    subject: text('subject'),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [index('staff_actions_at_idx').on(t.at)],
);
