import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { waitlistEntries, waitlistOffers } from '../../db/schema.js';

/**
 * The waitlist's part of erasing a person (people/erasure.ts asks it, in the erasure's
 * transaction): their entries end and forget the friend they named, and every offer still open
 * dies, so a link sent before the erasure books nothing and no time stays held for them. Returns
 * the friends' names and addresses, for the erasure to scrub from snapshots elsewhere.
 */
export async function eraseWaitlistFor(tx: Executor, studentIds: readonly string[], now: Date): Promise<string[]> {
  if (studentIds.length === 0) return [];
  const entries = await tx
    .select({ id: waitlistEntries.id, name: waitlistEntries.companionName, email: waitlistEntries.companionEmail })
    .from(waitlistEntries)
    .where(inArray(waitlistEntries.studentId, [...studentIds]));
  if (entries.length === 0) return [];
  const ids = entries.map((entry) => entry.id);
  await tx
    .update(waitlistOffers)
    .set({ status: 'declined', decidedAt: now })
    .where(and(inArray(waitlistOffers.entryId, ids), eq(waitlistOffers.status, 'open')));
  await tx
    .update(waitlistEntries)
    .set({
      status: sql`case when ${waitlistEntries.status} = 'waiting' then 'left' else ${waitlistEntries.status} end`,
      companionName: null,
      companionEmail: null,
      endedAt: sql`coalesce(${waitlistEntries.endedAt}, ${now})`,
      updatedAt: now,
    })
    .where(inArray(waitlistEntries.id, ids));
  return entries.flatMap((entry) => [entry.name, entry.email]).filter((value): value is string => Boolean(value));
}
