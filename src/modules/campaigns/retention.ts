import { and, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { campaignMembers, campaigns, notifications } from '../../db/schema.js';

/**
 * Before students lose their email (retention, erasure), the campaign members they were are kept
 * as attributions, so a campaign's results, which find a member's bookings by email or by
 * attribution, do not change.
 */
export async function keepAttributions(executor: Executor, studentIds: string[], now: Date): Promise<void> {
  if (studentIds.length === 0) return;
  await executor.execute(sql`insert into campaign_attributions (member_id, student_id, at)
    select m.id, s.id, ${now} from campaign_members m
    join students s on lower(s.email) = m.email
    where s.id in (${sql.join(
      studentIds.map((id) => sql`${id}::uuid`),
      sql`, `,
    )})
    on conflict do nothing`);
}

/**
 * Cohorts whose outcome window closed before `cutoff` lose who their members were (address, name,
 * reference, and the address of their invitation), keeping arm, stratum and categories: the
 * figures stay, the list goes. Returns how many members were forgotten.
 */
export async function forgetOldCohorts(executor: Executor, cutoff: Date, now: Date): Promise<number> {
  const old = executor
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(
      and(
        isNotNull(campaigns.sentAt),
        lt(sql`${campaigns.sentAt} + make_interval(days => ${campaigns.outcomeDays})`, cutoff),
      ),
    );
  await executor.execute(sql`insert into campaign_attributions (member_id, student_id, at)
    select m.id, s.id, ${now} from campaign_members m
    join students s on lower(s.email) = m.email
    where m.campaign_id in (${old})
    on conflict do nothing`);
  const forgotten = await executor
    .update(campaignMembers)
    .set({ email: null, firstName: null, studentRef: null })
    .where(and(inArray(campaignMembers.campaignId, old), isNotNull(campaignMembers.email)))
    .returning({ notificationId: campaignMembers.notificationId });
  const sent = forgotten.flatMap((row) => (row.notificationId ? [row.notificationId] : []));
  for (let offset = 0; offset < sent.length; offset += 1000) {
    await executor
      .update(notifications)
      .set({ recipientEmail: '', recipientName: null, linkToken: null })
      .where(
        and(
          eq(notifications.kind, 'campaign_invitation'),
          inArray(notifications.id, sent.slice(offset, offset + 1000)),
        ),
      );
  }
  return forgotten.length;
}
