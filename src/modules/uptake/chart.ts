import { escapeMarkup } from '../../text/markup.js';
import type { UptakeReport } from './schemas.js';

export type ChartMetric = 'attendanceRate' | 'bookings' | 'uptakeRate';

const WIDTH = 800;
const HEIGHT = 420;
const MARGIN = { top: 48, right: 24, bottom: 72, left: 64 };
const COLOURS = ['#1b6ca8', '#e07b39', '#4c9a2a', '#8e44ad', '#c0392b', '#7f8c8d'];
const LABELS: Record<ChartMetric, string> = {
  attendanceRate: 'Attendance rate',
  bookings: 'Bookings',
  uptakeRate: 'Uptake rate',
};

function label(value: unknown, key: string): string {
  if (key === 'companion') return value === true ? 'With companion' : 'Without companion';
  return value === null || value === undefined ? 'Not recorded' : String(value);
}

/**
 * Grouped bars: one cluster per value of the first non-companion grouping, one bar per series
 * (companion yes/no, or the second grouping), 95% whiskers for rates. Standalone SVG 1.1.
 */
export function renderChart(report: UptakeReport, metric: ChartMetric): string {
  const seriesKey = report.groupBy.includes('companion') ? 'companion' : report.groupBy[1];
  const clusterKey = report.groupBy.find((key) => key !== seriesKey);
  const clusters = [
    ...new Set(report.rows.map((row) => (clusterKey ? label(row.group[clusterKey], clusterKey) : 'All'))),
  ];
  const series = seriesKey
    ? [...new Set(report.rows.map((row) => label(row.group[seriesKey], seriesKey)))]
    : [LABELS[metric]];
  const isRate = metric !== 'bookings';
  const metricOf = (row: UptakeReport['rows'][number]) => row[metric] as number | null;
  const maxValue = isRate ? 1 : Math.max(1, ...report.rows.map((row) => metricOf(row) ?? 0));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value: number) => MARGIN.top + plotHeight - (value / maxValue) * plotHeight;
  const clusterWidth = plotWidth / Math.max(1, clusters.length);
  const barWidth = (clusterWidth * 0.8) / Math.max(1, series.length);

  const parts: string[] = [];
  for (let tick = 0; tick <= 5; tick++) {
    const value = (maxValue * tick) / 5;
    const text = isRate ? `${Math.round(value * 100)}%` : String(Math.round(value));
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(value) + 4}" text-anchor="end" font-size="12">${text}</text>`,
    );
  }
  clusters.forEach((cluster, clusterIndex) => {
    const x0 = MARGIN.left + clusterIndex * clusterWidth + clusterWidth * 0.1;
    parts.push(
      `<text x="${x0 + (clusterWidth * 0.8) / 2}" y="${HEIGHT - MARGIN.bottom + 20}" text-anchor="middle" font-size="12">${escapeMarkup(cluster)}</text>`,
    );
    series.forEach((name, seriesIndex) => {
      const row = report.rows.find(
        (candidate) =>
          (clusterKey ? label(candidate.group[clusterKey], clusterKey) : 'All') === cluster &&
          (!seriesKey || label(candidate.group[seriesKey], seriesKey) === name),
      );
      const value = row ? metricOf(row) : null;
      if (value === null || value === undefined) return;
      const x = x0 + seriesIndex * barWidth;
      const colour = COLOURS[seriesIndex % COLOURS.length];
      parts.push(
        `<rect x="${x}" y="${y(value)}" width="${barWidth * 0.9}" height="${y(0) - y(value)}" fill="${colour}"><title>${escapeMarkup(`${cluster}, ${name}: ${isRate ? `${(value * 100).toFixed(1)}%` : value}`)}</title></rect>`,
      );
      const interval = metric === 'attendanceRate' ? row?.attendanceRateCi95 : null;
      if (interval) {
        const middle = x + (barWidth * 0.9) / 2;
        parts.push(
          `<path d="M${middle} ${y(interval[1] as number)}V${y(interval[0] as number)}M${middle - 4} ${y(interval[1] as number)}h8M${middle - 4} ${y(interval[0] as number)}h8" stroke="#222" fill="none"/>`,
        );
      }
    });
  });
  series.forEach((name, index) => {
    const x = MARGIN.left + index * 180;
    parts.push(
      `<rect x="${x}" y="${HEIGHT - 28}" width="12" height="12" fill="${COLOURS[index % COLOURS.length]}"/>`,
      `<text x="${x + 18}" y="${HEIGHT - 18}" font-size="12">${escapeMarkup(name)}</text>`,
    );
  });
  const title = `${LABELS[metric]}${clusterKey ? ` by ${clusterKey.replace(/_/g, ' ')}` : ''}${seriesKey ? `, ${seriesKey === 'companion' ? 'with vs without companion' : `by ${seriesKey}`}` : ''}, ${report.from} to ${report.to}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" role="img">`,
    `<title>${escapeMarkup(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeMarkup(title)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeMarkup(LABELS[metric])}${metric === 'attendanceRate' ? ' (95% Wilson interval)' : ''}</text>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${y(0)}" stroke="#222"/>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#222"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
