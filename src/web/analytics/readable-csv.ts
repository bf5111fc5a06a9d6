import { parse } from 'csv-parse/sync';
import { toCsv } from '../../modules/uptake/csv.js';
import type { GroupLabeller } from '../../modules/uptake/labels.js';
import { FIGURES, FRIENDS_LATER_FIGURES } from '../../modules/uptake/render.js';
import type { Translate } from '../../text/i18n.js';

/** Column prefixes of the API's CSVs (a side of a comparison), longest first. */
export const CSV_PREFIXES = [
  'withoutCompanion',
  'withCompanion',
  'without',
  'with',
  'friends',
  'before',
  'after',
] as const;

/** The API's figure columns, without their prefix: each has a readable name in the catalogue. */
export const CSV_COLUMNS = [
  ...FIGURES,
  'ci95Low',
  'ci95High',
  'cohortSize',
  'uptakeCi95Low',
  'uptakeCi95High',
  'difference',
  'differenceCi95Low',
  'differenceCi95High',
  'pValue',
  'companionShare',
  'lowCount',
  'attendeesChange',
  'uptakeChange',
  'uptakeChangeCi95Low',
  'uptakeChangeCi95High',
  'requests',
  'responses',
  'responseRate',
  'nervousAnswered',
  'nervousMean',
  'nervousPoint',
  'nervousHigh',
  'nervousHighCi95Low',
  'nervousHighCi95High',
  'usefulAnswered',
  'usefulMean',
  'usefulPoint',
  'usefulHigh',
  'usefulHighCi95Low',
  'usefulHighCi95High',
  'nervousHighDifference',
  'nervousHighDifferenceCi95Low',
  'nervousHighDifferenceCi95High',
  'usefulHighDifference',
  'usefulHighDifferenceCi95Low',
  'usefulHighDifferenceCi95High',
  'bookMyselfYes',
  'bookMyselfMaybe',
  'bookMyselfNo',
  'bookMyselfYesShare',
  ...FRIENDS_LATER_FIGURES,
  'suppressed',
] as const;

/** Proportions (rates, shares, their intervals and differences), written as percentages or points. */
const PROPORTION = /(Rate|Share|Ci95Low|Ci95High|High|HighDifference)$|^(difference|uptakeChange)$/i;
const YES_NO = new Set(['lowCount', 'suppressed']);

/**
 * A page's CSV download for a person to read in a spreadsheet, from the API's CSV of the same
 * figures: columns named in words ("With a friend: attendance rate (%)"), category values by their
 * labels, rates as percentages and differences as points to one decimal, p-values to two
 * significant figures, yes and no in words. Suppressed figures stay empty. The API's CSV itself
 * (keys and raw values, for programs) is unchanged.
 */
export function readableCsv(apiCsv: string, groupKeys: readonly string[], words: GroupLabeller, t: Translate): string {
  const [header = [], ...rows] = parse(apiCsv, { relaxColumnCount: true }) as string[][];
  const columns = header.map((name) => {
    if (groupKeys.includes(name)) return { kind: 'group' as const, name, label: words.key(name) };
    const prefix = CSV_PREFIXES.find(
      (candidate) => name.startsWith(candidate) && /[A-Z]/.test(name[candidate.length] ?? ''),
    );
    const rest = prefix ? name.slice(prefix.length) : name;
    const base = `${rest[0]?.toLowerCase() ?? ''}${rest.slice(1)}`;
    const point = /^(nervous|useful)([1-5])$/.exec(base);
    const key = point ? `${point[1]}Point` : base;
    const label = t(`analytics.csv.column.${key}`, point ? { point: point[2] as string } : {});
    return {
      kind: 'figure' as const,
      name: base,
      label: prefix ? t('analytics.csv.sided', { side: t(`analytics.csv.prefix.${prefix}`), column: label }) : label,
    };
  });
  const groupValue = (key: string, cell: string) => {
    if (cell === 'total') return t('analytics.csv.total');
    const value = cell === '' ? null : cell === 'true' ? true : cell === 'false' ? false : cell;
    return words.value(key, value);
  };
  const figure = (name: string, cell: string): string | number | null => {
    if (cell === '') return null;
    if (YES_NO.has(name)) return t(cell === 'true' ? 'common.yes' : 'common.no');
    const value = Number(cell);
    if (!Number.isFinite(value)) return cell;
    if (name === 'pValue') return Number(value.toPrecision(2));
    if (PROPORTION.test(name)) return Math.round(value * 1000) / 10;
    if (/Mean$/.test(name)) return Math.round(value * 100) / 100;
    return value;
  };
  return toCsv(
    columns.map((column) => column.label),
    rows.map((row) =>
      columns.map((column, index) =>
        column.kind === 'group' ? groupValue(column.name, row[index] ?? '') : figure(column.name, row[index] ?? ''),
      ),
    ),
  );
}
