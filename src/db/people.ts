import { asc, inArray } from 'drizzle-orm';
import type { Executor } from './client.js';
import { companions } from './schema.js';

export type CompanionRow = typeof companions.$inferSelect;

/** Queries about a booking's people that both bookings and the email channel need. */

export function activeCompanions(rows: CompanionRow[]): CompanionRow[] {
  return rows.filter((companion) => companion.status === 'invited');
}

export async function companionsOf(executor: Executor, bookingIds: string[]): Promise<CompanionRow[]> {
  if (bookingIds.length === 0) return [];
  return executor
    .select()
    .from(companions)
    .where(inArray(companions.bookingId, bookingIds))
    .orderBy(asc(companions.ordinal));
}

/** What the viewer may see of people's contact details. */
