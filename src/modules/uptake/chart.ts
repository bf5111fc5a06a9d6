import { escapeMarkup } from '../../text/markup.js';
import { type GroupLabeller, groupLabeller } from './labels.js';
import type { CompanionEffectReport, UptakeReport } from './schemas.js';

export type ChartMetric = 'attendanceRate' | 'bookings' | 'uptakeRate';

/** Every word a chart shows, so a page can pass its own language. */
export interface ChartText {
  metric: Record<ChartMetric, string>;
  interval: string;
  by: string;
  versus: string;
  lowCount: string;
  noCohorts: string;
  noData: string;
  n: string;
  effectTitle: string;
  effectAxis: string;
  effectZero: string;
  effectNoData: string;
  effectMissing: string;
  effectLowCount: string;
  moreInTable: string;
}

export const ENGLISH_CHART_TEXT: ChartText = {
  metric: { attendanceRate: 'Attendance rate', bookings: 'Bookings', uptakeRate: 'Uptake rate' },
  interval: '95% interval',
  by: 'by {key}',
  versus: 'with vs without a friend',
  lowCount: 'Hatched: fewer than 10 sessions, read with care',
  noCohorts: 'No cohort sizes for this period: set them under Terms and cohorts',
  noData: 'No sessions in this period',
  n: 'n={n}',
  effectTitle: 'Attendance with a friend minus without, by {key}',
  effectAxis: 'Difference in attendance rate, percentage points (95% interval)',
  effectZero: 'no difference',
  effectNoData: 'No category value has enough recorded sessions on both sides to compare',
  effectMissing: 'not enough to compare',
  effectLowCount: 'Hollow: fewer than 10 bookings on one side, read with care',
  moreInTable: 'and {count} more in the table',
};

export interface ChartOptions {
  labeller?: GroupLabeller;
  text?: ChartText;
  /** Prefix for element ids, so two charts can share a page. */
  idPrefix?: string;
}

const HEIGHT = 440;
const MARGIN = { top: 56, right: 24, bottom: 96, left: 72 };
/** Each at least 4.5:1 against white (GOV.UK palette), so bars pass WCAG 1.4.11. */
const COLOURS = ['#1d70b8', '#b35c00', '#00703c', '#912b88', '#d4351c', '#505a5f'];
const LOW_COUNT = 10;
const DESCRIBED_ROWS = 60;

const fill = (template: string, values: Record<string, string | number>) =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));

/** Ticks at 1, 2 or 5 × 10^k, from zero to at least max: 0, 5, 10, … rather than 0, 4.6, 9.2. */
export function niceTicks(max: number, most = 6): number[] {
  if (max <= 0) return [0, 1];
  const rough = max / (most - 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let value = 0; value < max + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

function svgOpen(width: number, height: number, id: string, title: string, desc: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img" aria-labelledby="${id}-title ${id}-desc" class="chart">`,
    `<title id="${id}-title">${escapeMarkup(title)}</title>`,
    `<desc id="${id}-desc">${escapeMarkup(desc)}</desc>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold" fill="#0b0c0c">${escapeMarkup(title)}</text>`,
  ];
}

function describe(entries: string[], text: ChartText): string {
  const shown = entries.slice(0, DESCRIBED_ROWS);
  const rest = entries.length - shown.length;
  return `${shown.join('; ')}${rest > 0 ? `; ${fill(text.moreInTable, { count: rest })}` : ''}.`;
}

/**
 * Grouped bars: one cluster per value of the first grouping other than the series, one bar per
 * series (with or without a friend, or the second grouping). Every bar carries its n; rates carry
 * their 95% interval and are hatched under 10 sessions; ticks are round; a chart with nothing to
 * draw says why. The <title> and <desc> give the figures to a screen reader. Standalone SVG 1.1.
 */
export function renderChart(report: UptakeReport, metric: ChartMetric, options: ChartOptions = {}): string {
  const text = options.text ?? ENGLISH_CHART_TEXT;
  const id = options.idPrefix ?? 'chart';
  const words = options.labeller ?? groupLabeller([]);
  const seriesKey = report.groupBy.includes('companion') ? 'companion' : report.groupBy[1];
  const clusterKey = report.groupBy.find((key) => key !== seriesKey);
  const clusterOf = (row: UptakeReport['rows'][number]) =>
    clusterKey ? words.value(clusterKey, row.group[clusterKey]) : words.key('all');
  const seriesOf = (row: UptakeReport['rows'][number]) =>
    seriesKey ? words.value(seriesKey, row.group[seriesKey]) : text.metric[metric];
  const clusters = [...new Set(report.rows.map(clusterOf))];
  const series = [...new Set(report.rows.map(seriesOf))];
  const isRate = metric !== 'bookings';
  const metricValue = (row: UptakeReport['rows'][number]) => row[metric] as number | null;
  const nOf = (row: UptakeReport['rows'][number]) =>
    metric === 'attendanceRate'
      ? row.attended + row.noShow
      : metric === 'bookings'
        ? row.bookings
        : row.uniqueAttendees;
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const show = (value: number) => (isRate ? percent(value) : String(value));

  const titleParts = [text.metric[metric]];
  if (clusterKey) titleParts.push(fill(text.by, { key: words.key(clusterKey).toLowerCase() }));
  const title = `${titleParts.join(' ')}${seriesKey ? `, ${seriesKey === 'companion' ? text.versus : fill(text.by, { key: words.key(seriesKey).toLowerCase() })}` : ''}, ${report.from} – ${report.to}`;

  const drawn = report.rows.filter((row) => metricValue(row) !== null);
  const slots = Math.max(1, clusters.length * series.length);
  const width = Math.max(800, MARGIN.left + MARGIN.right + slots * 56 + clusters.length * 16);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;

  if (drawn.length === 0) {
    const message = metric === 'uptakeRate' && report.rows.length > 0 ? text.noCohorts : text.noData;
    return [
      ...svgOpen(width, HEIGHT, id, title, message),
      `<text x="${width / 2}" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" font-size="15" fill="#0b0c0c">${escapeMarkup(message)}</text>`,
      '</svg>',
      '',
    ].join('\n');
  }

  // Rates run 0–100% unless all are small (uptake is often 1 or 2%): then the axis fits them, so 0.8% is seen.
  const highest = Math.max(
    ...drawn.map((row) => metricValue(row) ?? 0),
    ...drawn.map((row) => (metric === 'attendanceRate' ? (row.attendanceRateCi95?.[1] ?? 0) : 0)),
  );
  const ticks = isRate
    ? highest > 0.5 || highest <= 0
      ? [0, 0.2, 0.4, 0.6, 0.8, 1]
      : niceTicks(highest)
    : niceTicks(highest);
  const top = ticks.at(-1) ?? 1;
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const clusterWidth = plotWidth / Math.max(1, clusters.length);
  const barWidth = (clusterWidth * 0.84) / Math.max(1, series.length);
  const rotate = clusterWidth < 120;

  const parts: string[] = [
    '<defs>',
    `<pattern id="${id}-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)"><rect width="4" height="8" fill="#fff" fill-opacity="0.75"/></pattern>`,
    '</defs>',
  ];
  for (const tick of ticks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#d0d0d0"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(tick) + 4}" text-anchor="end" font-size="12" fill="#0b0c0c">${isRate ? `${Number((tick * 100).toPrecision(12))}%` : tick}</text>`,
    );
  }
  const described: string[] = [];
  let anyLow = false;
  clusters.forEach((cluster, clusterIndex) => {
    const x0 = MARGIN.left + clusterIndex * clusterWidth + clusterWidth * 0.08;
    const labelX = x0 + (clusterWidth * 0.84) / 2;
    const labelY = y(0) + 34;
    parts.push(
      rotate
        ? `<text transform="translate(${labelX} ${labelY}) rotate(-30)" text-anchor="end" font-size="12" fill="#0b0c0c">${escapeMarkup(cluster)}</text>`
        : `<text x="${labelX}" y="${labelY}" text-anchor="middle" font-size="12" fill="#0b0c0c">${escapeMarkup(cluster)}</text>`,
    );
    series.forEach((name, seriesIndex) => {
      const row = report.rows.find((candidate) => clusterOf(candidate) === cluster && seriesOf(candidate) === name);
      const value = row ? metricValue(row) : null;
      if (!row || value === null) return;
      const n = nOf(row);
      const low = isRate && n < LOW_COUNT;
      anyLow ||= low;
      const x = x0 + seriesIndex * barWidth;
      const w = barWidth * 0.9;
      const colour = COLOURS[seriesIndex % COLOURS.length];
      const label = `${cluster}${seriesKey ? `, ${name}` : ''}: ${show(value)} (${fill(text.n, { n })})`;
      described.push(label);
      parts.push(
        `<rect x="${x}" y="${y(value)}" width="${w}" height="${y(0) - y(value)}" fill="${colour}"><title>${escapeMarkup(label)}</title></rect>`,
      );
      if (low)
        parts.push(
          `<rect x="${x}" y="${y(value)}" width="${w}" height="${y(0) - y(value)}" fill="url(#${id}-hatch)" stroke="${colour}"/>`,
        );
      parts.push(
        `<text x="${x + w / 2}" y="${y(0) + 15}" text-anchor="middle" font-size="11" fill="#0b0c0c">${escapeMarkup(fill(text.n, { n }))}</text>`,
      );
      const interval = metric === 'attendanceRate' ? row.attendanceRateCi95 : null;
      if (interval) {
        const middle = x + w / 2;
        const [lo, hi] = interval as [number, number];
        parts.push(
          `<path d="M${middle} ${y(hi)}V${y(lo)}M${middle - 5} ${y(hi)}h10M${middle - 5} ${y(lo)}h10" stroke="#0b0c0c" stroke-width="1.5" fill="none"/>`,
        );
      }
    });
  });
  let legendX = MARGIN.left;
  const legendY = HEIGHT - 22;
  if (seriesKey) {
    series.forEach((name, index) => {
      parts.push(
        `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${COLOURS[index % COLOURS.length]}"/>`,
        `<text x="${legendX + 18}" y="${legendY}" font-size="12" fill="#0b0c0c">${escapeMarkup(name)}</text>`,
      );
      legendX += 30 + name.length * 7;
    });
  }
  if (anyLow) {
    parts.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="#505a5f"/>`,
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="url(#${id}-hatch)" stroke="#505a5f"/>`,
      `<text x="${legendX + 18}" y="${legendY}" font-size="12" fill="#0b0c0c">${escapeMarkup(text.lowCount)}</text>`,
    );
  }
  const axisLabel = `${text.metric[metric]}${metric === 'attendanceRate' ? ` (${text.interval})` : ''}`;
  return [
    ...svgOpen(width, HEIGHT, id, title, describe(described, text)),
    `<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#0b0c0c">${escapeMarkup(axisLabel)}</text>`,
    ...parts,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${y(0)}" stroke="#0b0c0c"/>`,
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#0b0c0c"/>`,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Dot and whisker: one row per category value, the difference in attendance rate (with minus
 * without a friend) as a dot with its 95% interval, zero marked. Rows under 10 bookings on a side
 * are drawn hollow; rows with nothing to compare say so.
 */
export function renderEffectChart(
  report: CompanionEffectReport,
  options: ChartOptions & { byLabel?: string } = {},
): string {
  const text = options.text ?? ENGLISH_CHART_TEXT;
  const id = options.idPrefix ?? 'effect';
  const valueLabel = (value: string | null) => (options.labeller ?? groupLabeller([])).value(report.by, value);
  const title = `${fill(text.effectTitle, { key: (options.byLabel ?? report.by.replace(/_/g, ' ')).toLowerCase() })}, ${report.from} – ${report.to}`;
  const rowHeight = 44;
  const left = 200;
  const width = 800;
  const right = 110;
  const top = 56;
  const height = top + Math.max(1, report.rows.length) * rowHeight + 84;
  const drawn = report.rows.filter((row) => row.difference !== null && row.differenceCi95 !== null);
  if (drawn.length === 0) {
    return [
      ...svgOpen(width, 200, id, title, text.effectNoData),
      `<text x="${width / 2}" y="110" text-anchor="middle" font-size="15" fill="#0b0c0c">${escapeMarkup(text.effectNoData)}</text>`,
      '</svg>',
      '',
    ].join('\n');
  }
  // Symmetric about zero, in round steps (1, 2 or 5 × 10^k points) reaching past the widest interval.
  const extent = Math.max(0.05, ...drawn.flatMap((row) => (row.differenceCi95 as number[]).map(Math.abs)));
  const rough = extent / 3;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power;
  const steps = Math.ceil(extent / step - 1e-9);
  const bound = steps * step;
  const x = (value: number) => left + ((value + bound) / (2 * bound)) * (width - left - right);
  const parts: string[] = [];
  const bottom = top + report.rows.length * rowHeight;
  for (let index = -steps; index <= steps; index++) {
    const tick = index * step;
    const rounded = Math.round(tick * 100);
    parts.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top}" y2="${bottom}" stroke="#d0d0d0"/>`,
      `<text x="${x(tick)}" y="${bottom + 18}" text-anchor="middle" font-size="12" fill="#0b0c0c">${rounded > 0 ? '+' : ''}${rounded}</text>`,
    );
  }
  parts.push(
    `<line x1="${x(0)}" x2="${x(0)}" y1="${top - 8}" y2="${bottom}" stroke="#0b0c0c" stroke-width="2"/>`,
    `<text x="${x(0)}" y="${top - 12}" text-anchor="middle" font-size="12" fill="#0b0c0c">${escapeMarkup(text.effectZero)}</text>`,
  );
  const described: string[] = [];
  report.rows.forEach((row, index) => {
    const middle = top + index * rowHeight + rowHeight / 2;
    const label = valueLabel(row.value);
    parts.push(
      `<text x="${left - 12}" y="${middle + 4}" text-anchor="end" font-size="13" fill="#0b0c0c">${escapeMarkup(label)}</text>`,
    );
    const nText = `${fill(text.n, { n: row.withCompanion.attended + row.withCompanion.noShow })} / ${row.withoutCompanion.attended + row.withoutCompanion.noShow}`;
    if (row.difference === null || row.differenceCi95 === null) {
      described.push(`${label}: ${text.effectMissing}`);
      parts.push(
        `<text x="${x(0) + 8}" y="${middle + 4}" font-size="12" font-style="italic" fill="#0b0c0c">${escapeMarkup(text.effectMissing)}</text>`,
      );
      return;
    }
    const [lo, hi] = row.differenceCi95 as [number, number];
    const points = (value: number) => `${value > 0 ? '+' : ''}${Math.round(value * 100)}`;
    described.push(`${label}: ${points(row.difference)} (${points(lo)} to ${points(hi)}), ${nText}`);
    parts.push(
      `<path d="M${x(lo)} ${middle}H${x(hi)}M${x(lo)} ${middle - 6}v12M${x(hi)} ${middle - 6}v12" stroke="#0b0c0c" stroke-width="2" fill="none"/>`,
      row.lowCount
        ? `<circle cx="${x(row.difference)}" cy="${middle}" r="6" fill="#fff" stroke="#1d70b8" stroke-width="2.5"/>`
        : `<circle cx="${x(row.difference)}" cy="${middle}" r="6" fill="#1d70b8"/>`,
      `<text x="${width - right + 8}" y="${middle + 4}" font-size="11" fill="#0b0c0c">${escapeMarkup(nText)}</text>`,
    );
  });
  const lowRows = drawn.some((row) => row.lowCount);
  if (lowRows) {
    parts.push(
      `<circle cx="${left + 6}" cy="${height - 22}" r="6" fill="#fff" stroke="#1d70b8" stroke-width="2.5"/>`,
      `<text x="${left + 18}" y="${height - 18}" font-size="12" fill="#0b0c0c">${escapeMarkup(text.effectLowCount)}</text>`,
    );
  }
  return [
    ...svgOpen(width, height, id, title, describe(described, text)),
    `<text x="${(left + width - right) / 2}" y="${bottom + 40}" text-anchor="middle" font-size="12" fill="#0b0c0c">${escapeMarkup(text.effectAxis)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
