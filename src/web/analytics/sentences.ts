import type { CompanionEffectReport, CompareReport } from '../../modules/uptake/schemas.js';
import type { Translate } from '../../text/i18n.js';
import { numberFormat } from './shared.js';

type EffectRow = CompanionEffectReport['rows'][number];
type CompareRow = CompareReport['rows'][number];

/**
 * Numbers as a sentence reads them: exactly as the table beside it shows them (numberFormat:
 * percentages and signed percentage points to one decimal), so the two never disagree.
 */
export function numberWords(locale: string) {
  const table = numberFormat(locale);
  const size = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return {
    percent: (value: number) => table.percent(value),
    /** A difference of proportions in percentage points, signed: "+15.2", "−8.0", "0.0". */
    points: (value: number) => table.points(value),
    /** The size of a difference, unsigned: "15.2". */
    size: (value: number) => size.format(Math.abs(value * 100)),
  };
}

/** "p = 0.008", "p = 0.23", "p < 0.001": two significant figures, never a false zero. */
export function pValueWords(p: number, t: Translate): string {
  if (p < 0.001) return t('analytics.p.below');
  return t('analytics.p.equals', { value: String(Number(p.toPrecision(2))) });
}

/**
 * What the companion-effect figures for one group say, in plain words, for a reader who is not a
 * statistician. The verdict follows the 95% interval of the difference: above zero, below zero, or
 * spanning it; small or missing figures say so rather than a verdict.
 */
export function effectSentence(row: EffectRow, t: Translate, locale: string, hesa = false): string {
  const words = numberWords(locale);
  if (row.lowCount) return t('analytics.effect.tooFew');
  const withRate = row.withCompanion.attendanceRate;
  const withoutRate = row.withoutCompanion.attendanceRate;
  if (row.difference === null || row.differenceCi95 === null || withRate === null || withoutRate === null) {
    const recorded =
      row.withCompanion.attended + row.withCompanion.noShow > 0 &&
      row.withoutCompanion.attended + row.withoutCompanion.noShow > 0;
    // Rates are held back only under HESA disclosure control; otherwise a missing rate means nothing recorded.
    return t(recorded && hesa ? 'analytics.effect.withheld' : 'analytics.effect.notYet');
  }
  const [low, high] = row.differenceCi95 as [number, number];
  const params = {
    with: words.percent(withRate),
    without: words.percent(withoutRate),
    size: words.size(row.difference),
    low: words.points(low),
    high: words.points(high),
    p: row.pValue === null ? t('analytics.p.undefined') : pValueWords(row.pValue, t),
  };
  if (low > 0) return t('analytics.effect.higher', params);
  if (high < 0) return t('analytics.effect.lower', params);
  return t(params.with === params.without ? 'analytics.effect.same' : 'analytics.effect.unclear', params);
}

/** The same for one row of the before-and-after comparison. */
export function compareSentence(row: CompareRow, t: Translate, locale: string, hesa = false): string {
  const words = numberWords(locale);
  if (row.uptakeChange === null || row.uptakeChangeCi95 === null) {
    const missing = row.before.cohortSize === null || row.after.cohortSize === null;
    const reason = missing ? 'noCohort' : hesa ? 'withheld' : 'emptyCohort';
    return t(`analytics.compare.${reason}`, {
      change: new Intl.NumberFormat(locale, { signDisplay: 'exceptZero' }).format(row.attendeesChange),
    });
  }
  const [low, high] = row.uptakeChangeCi95 as [number, number];
  const params = {
    before: words.percent(row.before.uptakeRate as number),
    after: words.percent(row.after.uptakeRate as number),
    size: words.size(row.uptakeChange),
    low: words.points(low),
    high: words.points(high),
    p: row.pValue === null ? t('analytics.p.undefined') : pValueWords(row.pValue, t),
  };
  if (low > 0) return t('analytics.compare.rose', params);
  if (high < 0) return t('analytics.compare.fell', params);
  return t(params.before === params.after ? 'analytics.compare.same' : 'analytics.compare.unclear', params);
}
