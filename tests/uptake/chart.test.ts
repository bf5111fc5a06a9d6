import { type Element, isTag } from 'domhandler';
import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { niceTicks, renderChart, renderEffectChart } from '../../src/modules/uptake/chart.js';
import type { CompanionEffectReport, UptakeReport } from '../../src/modules/uptake/schemas.js';
import type { GroupLabeller } from '../../src/modules/uptake/service.js';

// The charts, read back with a real XML parser. The figures are literals written for the test.

const labeller: GroupLabeller = {
  key: (key) => ({ fee_status: 'Fee status', companion: 'Friend', month: 'Month' })[key] ?? key,
  value: (key, value) =>
    key === 'companion'
      ? value
        ? 'With a friend'
        : 'Without a friend'
      : (({ international: 'International', home: 'Home' } as Record<string, string>)[String(value)] ?? String(value)),
};

function parse(svg: string) {
  const document = parseDocument(svg, { xmlMode: true });
  const all = (name: string) => DomUtils.getElementsByTagName(name, document.children, true);
  const texts = all('text').map((element) => DomUtils.textContent(element));
  const svgElement = all('svg')[0] as Element;
  const direct = (name: string) =>
    svgElement.children.filter((child): child is Element => isTag(child) && child.name === name);
  return { document, all, texts, svgElement, direct };
}

const figures = (bookings: number, attended: number, noShow: number, rate: number | null) => ({
  bookings,
  cancelled: 0,
  lateCancelled: 0,
  attended,
  noShow,
  unrecorded: bookings - attended - noShow,
  upcoming: 0,
  attendanceRate: rate,
  attendanceRateCi95: rate === null ? null : [Math.max(0, rate - 0.1), Math.min(1, rate + 0.1)],
  uniqueStudents: bookings,
  uniqueAttendees: attended,
  uptakeRate: null,
  supportBookings: 0,
});

const report: UptakeReport = {
  from: '2026-08-01',
  to: '2027-07-31',
  groupBy: ['fee_status', 'companion'],
  disclosure: 'none',
  rows: [
    { group: { fee_status: 'home', companion: false }, ...figures(23, 18, 5, 18 / 23) },
    { group: { fee_status: 'home', companion: true }, ...figures(12, 11, 1, 11 / 12) },
    { group: { fee_status: 'international', companion: false }, ...figures(17, 12, 5, 12 / 17) },
    { group: { fee_status: 'international', companion: true }, ...figures(5, 5, 0, 1) },
  ],
  totals: figures(57, 46, 11, 46 / 57),
};

describe('the uptake chart', () => {
  it('labels groups and series by their labels and writes n under every bar', () => {
    const { texts } = parse(renderChart(report, 'attendanceRate', { labeller }));
    expect(texts).toContain('Home');
    expect(texts).toContain('International');
    expect(texts).toContain('With a friend');
    expect(texts).toContain('Without a friend');
    expect(texts).not.toContain('international');
    // n for a rate is the sessions with attendance recorded: 23, 12, 17 and 5.
    expect(texts.filter((text) => text.startsWith('n=')).sort()).toEqual(['n=12', 'n=17', 'n=23', 'n=5']);
  });

  it('hatches the bar from 5 sessions, and only it, with a legend entry saying why', () => {
    const { all, texts } = parse(renderChart(report, 'attendanceRate', { labeller }));
    const hatched = all('rect').filter((rect) => rect.attribs.fill === 'url(#chart-hatch)');
    // The one bar (International, with a friend: 5 of 5) and its legend swatch.
    expect(hatched).toHaveLength(2);
    expect(texts).toContain('Hatched: fewer than 10 sessions, read with care');
    const solid = parse(
      renderChart({ ...report, rows: report.rows.filter((row) => row.attended >= 10) }, 'attendanceRate'),
    );
    expect(solid.all('rect').filter((rect) => rect.attribs.fill === 'url(#chart-hatch)')).toHaveLength(0);
    expect(solid.texts).not.toContain('Hatched: fewer than 10 sessions, read with care');
  });

  it('has a title and a description giving every figure, for screen readers', () => {
    const { direct, svgElement } = parse(renderChart(report, 'attendanceRate', { labeller, idPrefix: 'uptake' }));
    expect(DomUtils.textContent(direct('title')[0] as Element)).toBe(
      'Attendance rate by fee status, with vs without a friend, 2026-08-01 – 2027-07-31',
    );
    expect(DomUtils.textContent(direct('desc')[0] as Element)).toBe(
      'Home, Without a friend: 78.3% (n=23); Home, With a friend: 91.7% (n=12); International, Without a friend: 70.6% (n=17); International, With a friend: 100.0% (n=5).',
    );
    expect(svgElement.attribs['aria-labelledby']).toBe('uptake-title uptake-desc');
  });

  it('uses round ticks for counts: 0 to 25 in fives for a largest bar of 23', () => {
    const { texts } = parse(renderChart(report, 'bookings', { labeller }));
    for (const tick of ['0', '5', '10', '15', '20', '25']) expect(texts).toContain(tick);
    expect(texts).not.toContain('9');
    expect(niceTicks(23)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(18)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(4)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(460)).toEqual([0, 100, 200, 300, 400, 500]);
  });

  it('fits the axis to small uptake rates (0.8% and 1.8% on 0–2%), and keeps 0–100% for large ones', () => {
    const uptake = (group: Record<string, string | boolean | null>, rate: number) => ({
      group,
      ...figures(50, 40, 10, 0.8),
      uptakeRate: rate,
    });
    const small: UptakeReport = {
      ...report,
      groupBy: ['fee_status'],
      rows: [uptake({ fee_status: 'home' }, 0.008), uptake({ fee_status: 'international' }, 0.018)],
    };
    const { texts, all } = parse(renderChart(small, 'uptakeRate', { labeller }));
    // niceTicks: 0.018 over 5 steps is 0.0036, rounded up to 0.005: 0%, 0.5%, … 2%.
    for (const tick of ['0%', '0.5%', '1%', '1.5%', '2%']) expect(texts).toContain(tick);
    expect(texts).not.toContain('100%');
    const bars = all('rect').filter((rect) => rect.children.some((child) => isTag(child) && child.name === 'title'));
    const heights = bars.map((bar) => Number(bar.attribs.height));
    // Plot height 440 − 56 − 96 = 288: 0.8% of 2% is 115.2, 1.8% is 259.2.
    expect(heights.map((height) => Number(height.toFixed(1)))).toEqual([115.2, 259.2]);
    const large = parse(renderChart(report, 'attendanceRate', { labeller }));
    for (const tick of ['0%', '20%', '100%']) expect(large.texts).toContain(tick);
  });

  it('says there are no cohort sizes instead of drawing empty axes for uptake', () => {
    const { texts, all } = parse(renderChart(report, 'uptakeRate', { labeller }));
    expect(texts).toContain('No cohort sizes for this period: set them under Terms and cohorts');
    expect(all('line')).toHaveLength(0);
    const empty = parse(renderChart({ ...report, rows: [] }, 'attendanceRate'));
    expect(empty.texts).toContain('No sessions in this period');
  });

  it('escapes labels that look like markup', () => {
    const svg = renderChart(
      { ...report, rows: [{ group: { fee_status: '<b>&x', companion: true }, ...figures(12, 10, 2, 10 / 12) }] },
      'attendanceRate',
    );
    expect(parse(svg).texts).toContain('<b>&x');
    expect(svg).not.toContain('<b>');
  });
});

describe('the companion-effect chart', () => {
  const side = (bookings: number, attended: number, noShow: number) => ({
    bookings,
    attended,
    noShow,
    attendanceRate: attended / (attended + noShow),
    attendanceRateCi95: null,
  });
  const effect: CompanionEffectReport = {
    by: 'fee_status',
    from: '2026-08-01',
    to: '2027-07-31',
    disclosure: 'none',
    rows: [
      {
        value: 'international',
        withCompanion: side(70, 56, 14),
        withoutCompanion: side(80, 48, 32),
        difference: 0.2,
        differenceCi95: [0.0524, 0.3339],
        pValue: 0.00805,
        companionShare: 70 / 150,
        lowCount: false,
      },
      {
        value: 'home',
        withCompanion: side(5, 5, 0),
        withoutCompanion: side(17, 12, 5),
        difference: 1 - 12 / 17,
        differenceCi95: [-0.05, 0.55],
        pValue: 0.16,
        companionShare: 5 / 22,
        lowCount: true,
      },
      {
        value: null,
        withCompanion: side(0, 0, 0),
        withoutCompanion: side(2, 1, 1),
        difference: null,
        differenceCi95: null,
        pValue: null,
        companionShare: 0,
        lowCount: true,
      },
    ],
  };

  it('draws one dot and whisker per comparable value, zero marked, low counts hollow', () => {
    const { all, texts, direct } = parse(
      renderEffectChart(effect, {
        labeller: {
          ...labeller,
          value: (key, value) => (value === null ? 'Not recorded' : labeller.value(key, value)),
        },
        byLabel: 'Fee status',
      }),
    );
    const circles = all('circle');
    // International filled, Home hollow (5 bookings with a friend), and the hollow legend swatch.
    expect(circles.map((circle) => circle.attribs.fill)).toEqual(['#1d70b8', '#fff', '#fff']);
    expect(texts).toContain('no difference');
    expect(texts).toContain('not enough to compare');
    expect(texts).toContain('Hollow: fewer than 10 bookings on one side, read with care');
    // The widest interval reaches +55: steps of 20 points (55 / 3 rounded up to 1, 2 or 5 × 10^k), to ±60.
    const ticks = texts.filter((text) => /^[+-]?\d+$/.test(text));
    expect(ticks).toEqual(['-60', '-40', '-20', '0', '+20', '+40', '+60']);
    expect(DomUtils.textContent(direct('desc')[0] as Element)).toBe(
      'International: +20 (+5 to +33), n=70 / 80; Home: +29 (-5 to +55), n=5 / 17; Not recorded: not enough to compare.',
    );
  });
});
