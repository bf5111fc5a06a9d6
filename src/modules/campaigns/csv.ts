import { toCsv } from '../uptake/csv.js';
import type { CampaignResults } from './schemas.js';

/** The outcomes a results CSV has four columns for: count, rate and the interval's ends. */
export const CSV_OUTCOMES = ['booked', 'attended', 'bookedWithFriend', 'friendCame'] as const;

/** The columns of the results CSV, in order (the page names each from the catalogue). */
export const RESULTS_CSV_COLUMNS = [
  'stratum',
  'arm',
  'name',
  'assigned',
  'emailed',
  'bounced',
  ...CSV_OUTCOMES.flatMap((outcome) => [outcome, `${outcome}_rate`, `${outcome}_ci_low`, `${outcome}_ci_high`]),
  'provisional',
];

/**
 * The results as CSV: one line per stratum (blank: everyone) and arm, each outcome's count, rate
 * and interval. `columnName` names each column (the API keeps the keys; the page words them).
 */
export function resultsCsv(
  results: CampaignResults,
  columnName: (column: string) => string = (column) => column,
): string {
  const outcomes = CSV_OUTCOMES;
  const header = RESULTS_CSV_COLUMNS.map(columnName);
  const lines = [
    ...results.arms.map((arm) => ({ stratum: '', arm })),
    ...results.strata.flatMap((stratum) => stratum.arms.map((arm) => ({ stratum: stratum.stratum, arm }))),
  ];
  return toCsv(
    header,
    lines.map(({ stratum, arm }) => [
      stratum,
      arm.arm,
      arm.name,
      arm.assigned,
      arm.emailed,
      arm.bounced,
      ...outcomes.flatMap((outcome) => [
        arm[outcome].count,
        arm[outcome].rate,
        arm[outcome].ci95?.[0] ?? null,
        arm[outcome].ci95?.[1] ?? null,
      ]),
      results.provisional ? 'yes' : 'no',
    ]),
  );
}
