import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import { transaction } from '../../db/transaction.js';
import type { Catalogues, Translate } from '../../text/i18n.js';
import type { Clock } from '../../time/clock.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from '../uptake/disclosure.js';
import { newcombeInterval, rate, twoProportionPValue, wilsonInterval } from '../uptake/statistics.js';
import { HOLDOUT } from './assignment.js';
import type { CampaignResults, Outcome } from './schemas.js';
import type { CampaignService } from './service.js';

const DAY_MS = 86_400_000;

/** Below this many people on either side, a comparison's sentence says the numbers are too small. */
export const TOO_FEW = 30;

interface Counts {
  arm: string;
  stratum: string;
  assigned: number;
  emailed: number;
  bounced: number;
  booked: number;
  attended: number;
  bookedWithFriend: number;
  friendCame: number;
}

const OUTCOME_FIELD: Record<Outcome, 'booked' | 'attended' | 'bookedWithFriend'> = {
  booked: 'booked',
  attended: 'attended',
  booked_with_friend: 'bookedWithFriend',
};

const points = (value: number) => Math.round(value * 1000) / 10;

/**
 * One sentence for an analyst that says no more than the numbers do: too few people; an interval
 * that includes no difference; or a difference, with its interval, in percentage points. Worded
 * from the catalogue (analytics.campaigns.sentence.*): English for the API, the page's language
 * on the page.
 */
export function comparisonSentence(
  t: Translate,
  input: {
    arm: string;
    against: string;
    outcome: Outcome;
    k1: number;
    n1: number;
    k2: number;
    n2: number;
    provisional: boolean;
  },
): string {
  const { k1, n1, k2, n2 } = input;
  const who = (key: string) =>
    key === HOLDOUT ? t('analytics.campaigns.who.holdout') : t('analytics.campaigns.who.arm', { key });
  const lead = input.provisional ? t('analytics.campaigns.sentence.provisional') : '';
  const arm = who(input.arm);
  const against = who(input.against);
  if (n1 < TOO_FEW || n2 < TOO_FEW) {
    return lead + t('analytics.campaigns.sentence.tooFew', { arm, against, n1, n2, min: TOO_FEW });
  }
  const interval = newcombeInterval(k1, n1, k2, n2);
  if (!interval) return lead + t('analytics.campaigns.sentence.none');
  const difference = points(k1 / n1 - k2 / n2);
  const values = {
    arm,
    against,
    outcome: t(`analytics.campaigns.outcomeWords.${input.outcome}`),
    share1: `${points(k1 / n1)}%`,
    share2: `${points(k2 / n2)}%`,
    difference: Math.abs(difference),
    low: points(interval[0]),
    high: points(interval[1]),
  };
  if (values.low <= 0 && values.high >= 0) {
    return lead + t('analytics.campaigns.sentence.noDifference', { ...values, difference });
  }
  return lead + t(difference > 0 ? 'analytics.campaigns.sentence.more' : 'analytics.campaigns.sentence.fewer', values);
}

/**
 * A campaign's results by assigned arm (intention to treat): everyone assigned counts, emailed or
 * not, bounced or not. A member's outcome is what a student with their email, or who came through
 * their link, did in the outcome window: bookings made in it, and of those, sessions attended,
 * bookings with a friend (or family; never a support worker) and whether the friend came.
 */
export function createCampaignResults(deps: {
  db: Database;
  clock: Clock;
  campaigns: CampaignService;
  catalogues: Catalogues;
}) {
  const { db, clock } = deps;

  async function counts(campaignId: string, from: Date, to: Date): Promise<Counts[]> {
    // PostgreSQL estimates the email join at hundreds of times its size, and would JIT-compile a
    // query that runs in about 100 ms over 50,000 members: the compiling took 370 ms of 500
    // (npm run bench -- --only campaigns). So no JIT for this one statement.
    return transaction(db, async (tx) => {
      await tx.execute(sql`set local jit = off`);
      return rowsOf<Counts>(
        tx,
        sql`with m as (
            select id, arm, stratum, email, notification_id from campaign_members
            where campaign_id = ${campaignId} and arm is not null
          ),
          who as (
            select m.id as member_id, s.id as student_id
            from m join students s on lower(s.email) = m.email
            union
            select a.member_id, a.student_id from campaign_attributions a join m on m.id = a.member_id
          ),
          outcome as (
            select w.member_id,
              bool_or(b.attendance = 'attended') as attended,
              bool_or(f.booking_id is not null) as with_friend,
              bool_or(coalesce(f.came, false)) as friend_came
            from who w
            join bookings b on b.student_id = w.student_id
            left join lateral (
              select c.booking_id, bool_or(c.attended is true) as came from companions c
              where c.booking_id = b.id and c.role <> 'support' and c.status <> 'removed'
              group by c.booking_id
            ) f on true
            where b.source = 'booked' and b.created_at >= ${from} and b.created_at < ${to}
            group by w.member_id
          )
          select m.arm, m.stratum,
            count(*)::int as assigned,
            (count(*) filter (where n.status = 'sent'))::int as emailed,
            (count(*) filter (where n.status = 'dead'))::int as bounced,
            (count(o.member_id))::int as booked,
            (count(*) filter (where o.attended))::int as attended,
            (count(*) filter (where o.with_friend))::int as "bookedWithFriend",
            (count(*) filter (where o.friend_came))::int as "friendCame"
          from m
          left join outcome o on o.member_id = m.id
          left join notifications n on n.id = m.notification_id
          group by m.arm, m.stratum
          order by m.arm, m.stratum`,
      );
    });
  }

  return async function results(
    campaignId: string,
    options: { disclosure: 'none' | 'hesa'; t?: Translate },
  ): Promise<CampaignResults> {
    const t = options.t ?? deps.catalogues.translator('en');
    const campaign = await deps.campaigns.get(campaignId);
    const rows = campaign.sentAt
      ? await counts(
          campaignId,
          new Date(campaign.sentAt),
          new Date(Date.parse(campaign.sentAt) + campaign.outcomeDays * DAY_MS),
        )
      : [];
    const provisional = !campaign.outcomeEndsAt || clock.now().getTime() < Date.parse(campaign.outcomeEndsAt);
    const hesa = options.disclosure === 'hesa';
    const armKeys = [...campaign.arms.map((arm) => arm.key), ...(campaign.holdoutPercent > 0 ? [HOLDOUT] : [])];
    const nameOf = (key: string) =>
      key === HOLDOUT ? 'Holdout (no email)' : (campaign.arms.find((arm) => arm.key === key)?.name ?? key);

    const total = (list: Counts[], arm: string): Counts => {
      const sum: Counts = {
        arm,
        stratum: '',
        assigned: 0,
        emailed: 0,
        bounced: 0,
        booked: 0,
        attended: 0,
        bookedWithFriend: 0,
        friendCame: 0,
      };
      for (const row of list) {
        if (row.arm !== arm) continue;
        sum.assigned += row.assigned;
        sum.emailed += row.emailed;
        sum.bounced += row.bounced;
        sum.booked += row.booked;
        sum.attended += row.attended;
        sum.bookedWithFriend += row.bookedWithFriend;
        sum.friendCame += row.friendCame;
      }
      return sum;
    };

    const figure = (k: number, n: number) => {
      if (hesa) {
        const shown = n >= HESA_MIN_DENOMINATOR;
        return { count: roundHesa(k), rate: shown ? rate(k, n) : null, ci95: shown ? wilsonInterval(k, n) : null };
      }
      return { count: k, rate: rate(k, n), ci95: wilsonInterval(k, n) };
    };
    const armFigures = (c: Counts) => ({
      arm: c.arm,
      name: nameOf(c.arm),
      assigned: hesa ? roundHesa(c.assigned) : c.assigned,
      emailed: hesa ? roundHesa(c.emailed) : c.emailed,
      bounced: hesa ? roundHesa(c.bounced) : c.bounced,
      booked: figure(c.booked, c.assigned),
      attended: figure(c.attended, c.assigned),
      bookedWithFriend: figure(c.bookedWithFriend, c.assigned),
      friendCame: figure(c.friendCame, c.assigned),
    });

    const strata = [...new Set(rows.map((row) => row.stratum))].sort();
    const comparisonsFor = (list: Counts[], stratum: string | null) => {
      const pairs: [string, string][] = [
        ...(armKeys.includes(HOLDOUT) ? campaign.arms.map((arm): [string, string] => [arm.key, HOLDOUT]) : []),
        ...campaign.arms.slice(1).map((arm): [string, string] => [arm.key, campaign.arms[0]?.key as string]),
      ];
      const field = OUTCOME_FIELD[campaign.primaryOutcome];
      return pairs.map(([arm, against]) => {
        const a = total(list, arm);
        const b = total(list, against);
        const interval = newcombeInterval(a[field], a.assigned, b[field], b.assigned);
        const small = hesa && (a.assigned < HESA_MIN_DENOMINATOR || b.assigned < HESA_MIN_DENOMINATOR);
        return {
          stratum,
          arm,
          against,
          outcome: campaign.primaryOutcome,
          differencePoints:
            small || a.assigned === 0 || b.assigned === 0
              ? null
              : points(a[field] / a.assigned - b[field] / b.assigned),
          ci95Points: small || !interval ? null : ([points(interval[0]), points(interval[1])] as [number, number]),
          pValue: small ? null : twoProportionPValue(a[field], a.assigned, b[field], b.assigned),
          sentence: small
            ? t('analytics.campaigns.sentence.withheld', { min: HESA_MIN_DENOMINATOR })
            : comparisonSentence(t, {
                arm,
                against,
                outcome: campaign.primaryOutcome,
                k1: a[field],
                n1: a.assigned,
                k2: b[field],
                n2: b.assigned,
                provisional,
              }),
        };
      });
    };

    return {
      campaign,
      provisional,
      disclosure: options.disclosure,
      arms: armKeys.map((key) => armFigures(total(rows, key))),
      strata: strata.map((stratum) => ({
        stratum,
        arms: armKeys.map((key) =>
          armFigures(
            total(
              rows.filter((row) => row.stratum === stratum),
              key,
            ),
          ),
        ),
      })),
      comparisons: [
        ...comparisonsFor(rows, null),
        ...strata.flatMap((stratum) =>
          comparisonsFor(
            rows.filter((row) => row.stratum === stratum),
            stratum,
          ),
        ),
      ],
    };
  };
}

export type CampaignResultsReader = ReturnType<typeof createCampaignResults>;
