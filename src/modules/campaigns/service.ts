import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import {
  campaignAttributions,
  campaignMembers,
  campaigns,
  invitationOptOuts,
  type notifications,
  students,
} from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, type FieldError, InvalidInput, NotFound, RuleViolation } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import type { CategoryService } from '../categories/service.js';
import { generateManageToken, hashManageToken } from '../links/tokens.js';
import { changedFields, recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { publishEvent } from '../webhooks/publish.js';
import { assignArms, HOLDOUT } from './assignment.js';
import { type CohortPerson, mergeDuplicates, parseCohortCsv } from './cohort.js';
import { createOptOutKeys } from './opt-outs.js';
import type { Campaign, CampaignDesign } from './schemas.js';

type CampaignRow = typeof campaigns.$inferSelect;

const DAY_MS = 86_400_000;
/** Rows per statement when writing a cohort: arrays, so the statement stays short. */
const BIG_CHUNK = 10_000;

/**
 * A list of text values as one parameter, written as a PostgreSQL array literal (each element
 * quoted and escaped; NULL for null), so the driver sends one text parameter on both drivers.
 */
function textArray(values: readonly (string | null)[]): string {
  return `{${values
    .map((value) => (value === null ? 'NULL' : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`))
    .join(',')}}`;
}
/** Outcome window by default: four weeks from sending. */
export const DEFAULT_OUTCOME_DAYS = 28;
/** The invitation link works this long after the outcome window closes. */
const LINK_GRACE_DAYS = 1;

/** The stratum of a person: their value for the stratifying question, or '' when not known. */
export function stratumOf(categories: Record<string, string>, stratifyBy: string | null): string {
  return stratifyBy ? (categories[stratifyBy] ?? '') : '';
}

function designErrors(design: CampaignDesign, dimensionKeys: string[]): FieldError[] {
  const errors: FieldError[] = [];
  const total = design.arms.reduce((sum, arm) => sum + arm.percent, 0) + design.holdoutPercent;
  if (total !== 100) {
    errors.push({ pointer: '/holdoutPercent', in: 'body', message: `arms and holdout add up to ${total}, not 100` });
  }
  design.arms.forEach((arm, index) => {
    if (design.arms.findIndex((other) => other.key === arm.key) !== index) {
      errors.push({ pointer: `/arms/${index}/key`, in: 'body', message: 'is a duplicate' });
    }
  });
  if (design.stratifyBy && !dimensionKeys.includes(design.stratifyBy)) {
    errors.push({ pointer: '/stratifyBy', in: 'body', message: `must be one of ${dimensionKeys.join(', ')}` });
  }
  if (Date.parse(design.sendUntil) <= Date.parse(design.sendFrom)) {
    errors.push({ pointer: '/sendUntil', in: 'body', message: 'must be after sendFrom' });
  }
  return errors;
}

/** What the staff record keeps of a design: everything but the email texts' bodies. */
function recordedDesign(row: CampaignRow) {
  return {
    name: row.name,
    hypothesis: row.hypothesis,
    primaryOutcome: row.primaryOutcome,
    arms: row.arms.map((arm) => ({ key: arm.key, name: arm.name, percent: arm.percent, subject: arm.subject })),
    holdoutPercent: row.holdoutPercent,
    stratifyBy: row.stratifyBy,
    seed: row.seed,
    sendFrom: row.sendFrom.toISOString(),
    sendUntil: row.sendUntil.toISOString(),
    outcomeDays: row.outcomeDays,
  };
}

export function createCampaignService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'campaignEmailsPerMinute'>;
  categories: CategoryService;
  messageIdDomain: string;
}) {
  const { db, clock } = deps;
  const optOutKeys = createOptOutKeys(db, clock);

  async function findRow(id: string, executor: Executor = db, lock = false): Promise<CampaignRow> {
    const query = executor.select().from(campaigns).where(eq(campaigns.id, id));
    const [row] = lock ? await query.for('update') : await query;
    if (!row) throw new NotFound(`Campaign ${id}`);
    return row;
  }

  async function cohortSummary(row: CampaignRow, executor: Executor = db): Promise<Campaign['cohort']> {
    const strata = await executor
      .select({ stratum: campaignMembers.stratum, size: sql<number>`count(*)::int` })
      .from(campaignMembers)
      .where(eq(campaignMembers.campaignId, row.id))
      .groupBy(campaignMembers.stratum)
      .orderBy(asc(campaignMembers.stratum));
    return {
      size: strata.reduce((sum, stratum) => sum + stratum.size, 0),
      source: (row.cohortSource as 'csv' | 'students' | null) ?? null,
      optedOutLeftOut: row.optedOutLeftOut,
      duplicatesMerged: row.duplicatesMerged,
      byStratum: strata,
    };
  }

  async function view(row: CampaignRow, executor: Executor = db): Promise<Campaign> {
    return {
      id: row.id,
      name: row.name,
      hypothesis: row.hypothesis,
      primaryOutcome: row.primaryOutcome,
      arms: row.arms,
      holdoutPercent: row.holdoutPercent,
      stratifyBy: row.stratifyBy,
      seed: row.seed,
      sendFrom: row.sendFrom.toISOString(),
      sendUntil: row.sendUntil.toISOString(),
      outcomeDays: row.outcomeDays,
      status: row.status,
      sentAt: row.sentAt?.toISOString() ?? null,
      outcomeEndsAt: row.sentAt ? new Date(row.sentAt.getTime() + row.outcomeDays * DAY_MS).toISOString() : null,
      cohort: await cohortSummary(row, executor),
      createdBy: row.createdBy,
      createdAt: row.createdAt.toISOString(),
    };
  }

  async function checkDesign(design: CampaignDesign): Promise<void> {
    const keys = (await deps.categories.listDimensions()).map((dimension) => dimension.key);
    const errors = designErrors(design, keys);
    if (errors.length > 0) throw new InvalidInput('The campaign design is not valid.', errors);
  }

  function designColumns(design: CampaignDesign) {
    return {
      name: design.name.trim(),
      hypothesis: design.hypothesis.trim(),
      primaryOutcome: design.primaryOutcome,
      arms: design.arms,
      holdoutPercent: design.holdoutPercent,
      stratifyBy: design.stratifyBy ?? null,
      sendFrom: new Date(design.sendFrom),
      sendUntil: new Date(design.sendUntil),
      outcomeDays: design.outcomeDays ?? DEFAULT_OUTCOME_DAYS,
    };
  }

  function assertDraft(row: CampaignRow): void {
    if (row.status !== 'draft') {
      throw new Conflict('campaign_locked', 'This campaign has been sent: its design and cohort can no longer change.');
    }
  }

  /** Of `emails`, those that asked for no more invitations. */
  async function optedOut(executor: Executor, emails: string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const byKey = await optOutKeys.keysOf(emails, executor);
    const rows = await rowsOf<{ key: string }>(
      executor,
      sql`select email_hash as key from invitation_opt_outs where email_hash = any(${textArray([...byKey.keys()])}::text[])`,
    );
    return new Set(rows.map((row) => byKey.get(row.key) as string));
  }

  async function studentsMatching(filter: Record<string, string[]>): Promise<CohortPerson[]> {
    const dimensions = await deps.categories.listDimensions();
    const unknown = Object.keys(filter).find((key) => !dimensions.some((dimension) => dimension.key === key));
    if (unknown) {
      throw new InvalidInput(`${unknown} is not a category question.`, [
        { pointer: `/fromStudents/categories/${unknown}`, in: 'body', message: 'is not a category key' },
      ]);
    }
    const rows = await db
      .select({ email: students.email, name: students.name, categories: students.categories })
      .from(students)
      .where(
        sql`${students.email} is not null ${sql.join(
          Object.entries(filter).map(
            ([key, values]) =>
              sql` and ${students.categories}->>${key} in (${sql.join(
                values.map((value) => sql`${value}`),
                sql`, `,
              )})`,
          ),
          sql``,
        )}`,
      )
      .orderBy(asc(students.createdAt));
    return rows.map((row) => ({
      email: (row.email as string).toLowerCase(),
      studentRef: null,
      firstName: row.name?.trim().split(/\s+/)[0] ?? null,
      categories: row.categories,
    }));
  }

  return {
    async list(): Promise<Campaign[]> {
      const rows = await db.select().from(campaigns).orderBy(desc(campaigns.createdAt));
      return Promise.all(rows.map((row) => view(row)));
    },

    async get(id: string): Promise<Campaign> {
      return view(await findRow(id));
    },

    async create(design: CampaignDesign, actor: StaffActor): Promise<Campaign> {
      await checkDesign(design);
      const now = clock.now();
      return transaction(db, async (tx) => {
        const [row] = await tx
          .insert(campaigns)
          .values({
            ...designColumns(design),
            seed: design.seed ?? randomBytes(12).toString('base64url'),
            status: 'draft',
            createdBy: actor.email ?? actor.sub,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        const created = row as CampaignRow;
        await recordStaffAction(tx, now, {
          actor,
          action: 'campaign.created',
          subject: created.id,
          after: recordedDesign(created),
        });
        return view(created, tx);
      });
    },

    /** A new design for a draft; refused once sent. */
    async update(id: string, design: CampaignDesign, actor: StaffActor): Promise<Campaign> {
      await checkDesign(design);
      const now = clock.now();
      return transaction(db, async (tx) => {
        const before = await findRow(id, tx, true);
        assertDraft(before);
        const [row] = await tx
          .update(campaigns)
          .set({ ...designColumns(design), seed: design.seed ?? before.seed, updatedAt: now })
          .where(eq(campaigns.id, id))
          .returning();
        const after = row as CampaignRow;
        const change = changedFields(recordedDesign(before), recordedDesign(after));
        if (Object.keys(change.after).length > 0) {
          await recordStaffAction(tx, now, { actor, action: 'campaign.changed', subject: id, ...change });
        }
        return view(after, tx);
      });
    },

    /**
     * The cohort of a draft, replaced whole: from a CSV file or from the students Liaison knows,
     * one entry per email, without those who asked for no invitations (counted).
     */
    async setCohort(
      id: string,
      input: { csv: string } | { fromStudents: { categories?: Record<string, string[]> } },
      actor: StaffActor,
    ): Promise<Campaign> {
      const row = await findRow(id);
      assertDraft(row);
      const listed =
        'csv' in input
          ? await parseCohortCsv(input.csv, await deps.categories.listDimensions())
          : await studentsMatching(input.fromStudents.categories ?? {});
      const { people, merged } = mergeDuplicates(listed);
      const now = clock.now();
      return transaction(db, async (tx) => {
        const locked = await findRow(id, tx, true);
        assertDraft(locked);
        const refused = await optedOut(
          tx,
          people.map((person) => person.email),
        );
        const kept = people.filter((person) => !refused.has(person.email));
        await tx.delete(campaignMembers).where(eq(campaignMembers.campaignId, id));
        // Column by column as arrays, unnested: one short statement per 10,000 people.
        for (let offset = 0; offset < kept.length; offset += BIG_CHUNK) {
          const chunk = kept.slice(offset, offset + BIG_CHUNK);
          await tx.execute(sql`insert into campaign_members
              (campaign_id, email, student_ref, first_name, categories, stratum, created_at)
            select ${id}::uuid, v.email, v.student_ref, v.first_name, v.categories::jsonb, v.stratum, ${now}::timestamptz
            from unnest(${textArray(chunk.map((person) => person.email))}::text[],
                        ${textArray(chunk.map((person) => person.studentRef))}::text[],
                        ${textArray(chunk.map((person) => person.firstName))}::text[],
                        ${textArray(chunk.map((person) => JSON.stringify(person.categories)))}::text[],
                        ${textArray(chunk.map((person) => stratumOf(person.categories, locked.stratifyBy)))}::text[])
              as v(email, student_ref, first_name, categories, stratum)`);
        }
        const [updated] = await tx
          .update(campaigns)
          .set({
            cohortSource: 'csv' in input ? 'csv' : 'students',
            optedOutLeftOut: refused.size,
            duplicatesMerged: merged,
            updatedAt: now,
          })
          .where(eq(campaigns.id, id))
          .returning();
        await recordStaffAction(tx, now, {
          actor,
          action: 'campaign.cohort_set',
          subject: id,
          after: {
            source: 'csv' in input ? 'csv' : 'students',
            size: kept.length,
            optedOutLeftOut: refused.size,
            duplicatesMerged: merged,
          },
        });
        return view(updated as CampaignRow, tx);
      });
    },

    /**
     * Sends a draft: the design is locked, everyone is assigned (stratified, from the seed), and
     * every member of an arm gets one email, queued through the outbox at CAMPAIGN_EMAILS_PER_MINUTE
     * from the start of the send window, each with their own invitation link and a link that stops
     * invitations. All in one transaction: an assignment is never half made.
     */
    async send(id: string, actor: StaffActor): Promise<Campaign> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const row = await findRow(id, tx, true);
        assertDraft(row);
        if (row.sendUntil <= now) {
          throw new RuleViolation('send_window_over', 'The send window has ended: set a new one before sending.', [
            { pointer: '/sendUntil', in: 'body', message: 'is in the past' },
          ]);
        }
        let members = await tx
          .select()
          .from(campaignMembers)
          .where(eq(campaignMembers.campaignId, id))
          .orderBy(asc(campaignMembers.email));
        // Anyone who stopped invitations since the cohort was made is left out too.
        const refused = await optedOut(
          tx,
          members.map((member) => member.email as string),
        );
        if (refused.size > 0) {
          await tx
            .delete(campaignMembers)
            .where(and(eq(campaignMembers.campaignId, id), inArray(campaignMembers.email, [...refused])));
          members = members.filter((member) => !refused.has(member.email as string));
        }
        if (members.length === 0) {
          throw new RuleViolation('cohort_empty', 'The campaign has no cohort yet: upload one before sending.');
        }
        const arms = [
          ...row.arms.map((arm) => ({ key: arm.key, percent: arm.percent })),
          { key: HOLDOUT, percent: row.holdoutPercent },
        ];
        const assigned = assignArms(
          members.map((member) => ({ email: member.email as string, stratum: member.stratum })),
          arms,
          row.seed,
        );
        const toEmail = members.filter((member) => assigned.get(member.email as string) !== HOLDOUT);
        const perMinute = deps.config.campaignEmailsPerMinute;
        const start = new Date(Math.max(row.sendFrom.getTime(), now.getTime()));
        const minutesNeeded = Math.ceil(toEmail.length / perMinute);
        if (start.getTime() + Math.max(0, minutesNeeded - 1) * 60_000 > row.sendUntil.getTime()) {
          throw new RuleViolation(
            'send_window_too_short',
            `${toEmail.length} emails at ${perMinute} a minute need ${minutesNeeded} minutes; the send window is shorter. Widen it.`,
            [
              {
                pointer: '/sendUntil',
                in: 'body',
                message: `must leave at least ${minutesNeeded} minutes from the start`,
              },
            ],
          );
        }
        const linkExpiresAt = new Date(now.getTime() + (row.outcomeDays + LINK_GRACE_DAYS) * DAY_MS);
        const queued: (typeof notifications.$inferInsert)[] = [];
        const updates = members.map((member) => {
          const arm = assigned.get(member.email as string) as string;
          if (arm === HOLDOUT) return { id: member.id, arm, link: null, stop: null, notification: null };
          const link = generateManageToken();
          const stop = generateManageToken();
          const notification = randomUUID();
          queued.push({
            id: notification,
            kind: 'campaign_invitation',
            bookingId: null,
            recipientRole: 'student',
            recipientEmail: member.email as string,
            recipientName: member.firstName,
            sendAfter: new Date(start.getTime() + Math.floor(queued.length / perMinute) * 60_000),
            messageId: `<${randomUUID()}@${deps.messageIdDomain}>`,
            payload: { campaignId: id, memberId: member.id, arm },
            // Both links, until the message is sent (then cleared); only their hashes are kept.
            linkToken: `${link} ${stop}`,
            createdAt: now,
          });
          return {
            id: member.id,
            arm,
            link: hashManageToken(link),
            stop: hashManageToken(stop),
            notification,
          };
        });
        for (let offset = 0; offset < updates.length; offset += BIG_CHUNK) {
          const chunk = updates.slice(offset, offset + BIG_CHUNK);
          await tx.execute(sql`update campaign_members m
            set arm = v.arm, link_token_hash = v.link, stop_token_hash = v.stop,
                notification_id = v.notification::uuid, link_expires_at = ${linkExpiresAt}::timestamptz
            from unnest(${textArray(chunk.map((update) => update.id))}::uuid[],
                        ${textArray(chunk.map((update) => update.arm))}::text[],
                        ${textArray(chunk.map((update) => update.link))}::text[],
                        ${textArray(chunk.map((update) => update.stop))}::text[],
                        ${textArray(chunk.map((update) => update.notification))}::text[])
              as v(id, arm, link, stop, notification)
            where m.id = v.id`);
        }
        for (let offset = 0; offset < queued.length; offset += BIG_CHUNK) {
          const chunk = queued.slice(offset, offset + BIG_CHUNK);
          await tx.execute(sql`insert into notifications
              (id, kind, booking_id, recipient_role, recipient_email, recipient_name, send_after, message_id,
               payload, link_token, created_at)
            select v.id::uuid, 'campaign_invitation', null, 'student', v.email, v.name, v.send_after::timestamptz,
                   v.message_id, v.payload::jsonb, v.link_token, ${now}::timestamptz
            from unnest(${textArray(chunk.map((message) => message.id as string))}::text[],
                        ${textArray(chunk.map((message) => message.recipientEmail))}::text[],
                        ${textArray(chunk.map((message) => message.recipientName ?? null))}::text[],
                        ${textArray(chunk.map((message) => (message.sendAfter as Date).toISOString()))}::text[],
                        ${textArray(chunk.map((message) => message.messageId))}::text[],
                        ${textArray(chunk.map((message) => JSON.stringify(message.payload)))}::text[],
                        ${textArray(chunk.map((message) => message.linkToken ?? null))}::text[])
              as v(id, email, name, send_after, message_id, payload, link_token)`);
        }
        const [sent] = await tx
          .update(campaigns)
          .set({
            status: 'sent',
            sentAt: now,
            optedOutLeftOut: row.optedOutLeftOut + refused.size,
            updatedAt: now,
          })
          .where(eq(campaigns.id, id))
          .returning();
        const counts = Object.fromEntries(arms.map((arm) => [arm.key, 0]));
        for (const update of updates) counts[update.arm] = (counts[update.arm] ?? 0) + 1;
        // campaign.sent to the webhooks that asked for it, at the next position of the change
        // feed's sequence (deliveries go out in that order); ids and counts only, no addresses.
        await publishEvent(tx, 'campaign.sent', now, {
          campaignId: id,
          sentAt: now.toISOString(),
          assigned: counts,
          emails: queued.length,
        });
        await recordStaffAction(tx, now, {
          actor,
          action: 'campaign.sent',
          subject: id,
          after: { assigned: counts, emails: queued.length, seed: row.seed },
        });
        return view(sent as CampaignRow, tx);
      });
    },

    /** The cohort itself, for admins: who is in it, their stratum and (once sent) their arm. */
    async members(id: string) {
      await findRow(id);
      const rows = await db
        .select({
          email: campaignMembers.email,
          studentRef: campaignMembers.studentRef,
          stratum: campaignMembers.stratum,
          arm: campaignMembers.arm,
        })
        .from(campaignMembers)
        .where(eq(campaignMembers.campaignId, id))
        .orderBy(asc(campaignMembers.email));
      return rows;
    },

    /** A one-click stop (RFC 8058) or the page's button: no more invitations to this address, from any campaign. */
    async stopInvitations(token: string): Promise<boolean> {
      const [member] = await db
        .select({ email: campaignMembers.email })
        .from(campaignMembers)
        .where(eq(campaignMembers.stopTokenHash, hashManageToken(token)));
      if (!member?.email) return false;
      await db
        .insert(invitationOptOuts)
        .values({ emailHash: await optOutKeys.keyOf(member.email), at: clock.now() })
        .onConflictDoNothing();
      return true;
    },

    /** The member an invitation link belongs to, while it is live; null otherwise. */
    async memberOfLink(token: string): Promise<string | null> {
      const [member] = await db
        .select({ id: campaignMembers.id })
        .from(campaignMembers)
        .where(
          and(
            eq(campaignMembers.linkTokenHash, hashManageToken(token)),
            gt(campaignMembers.linkExpiresAt, clock.now()),
          ),
        );
      return member?.id ?? null;
    },

    /** A student who came through a member's link: their bookings count as that member's. */
    async attribute(memberId: string, studentId: string): Promise<void> {
      await db.insert(campaignAttributions).values({ memberId, studentId, at: clock.now() }).onConflictDoNothing();
    },

    findRow,
    view,
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;
