import { sql } from 'drizzle-orm';
import { waitlistOffers } from '../../db/schema.js';
import type { BusyRangeSource } from '../availability/service.js';

const epochMs = (instant: unknown) => sql`(date_part('epoch', ${instant}::timestamptz) * 1000)::bigint`;

/**
 * Times held for a waiting student, for the slot read: an open offer that is not a broadcast keeps
 * its time from everyone else until it expires. Accepting it marks it accepted in the booking's
 * own transaction, before the decision read, so the holder's booking does not meet its own hold.
 */
export const waitlistHolds: BusyRangeSource = ({ librarianId, startsBefore, heldAfter, holdsAt }) =>
  sql<
    string | null
  >`(select string_agg('[' || ${epochMs(waitlistOffers.startsAt)} || ',' || ${epochMs(waitlistOffers.endsAt)} || ']', ',')
    from ${waitlistOffers}
    where ${waitlistOffers.librarianId} = ${librarianId}
      and ${waitlistOffers.status} = 'open' and not ${waitlistOffers.broadcast}
      and ${waitlistOffers.expiresAt} > ${holdsAt}::timestamptz
      and ${waitlistOffers.startsAt} < ${startsBefore}::timestamptz
      and ${waitlistOffers.endsAt} > ${heldAfter}::timestamptz)`;
