import type { FastifyInstance, FastifyRequest } from 'fastify';
import { renderChart } from '../../modules/uptake/chart.js';
import type { GroupLabeller } from '../../modules/uptake/labels.js';
import { compareCsv } from '../../modules/uptake/render.js';
import type { CompareReport } from '../../modules/uptake/schemas.js';
import type { Translate } from '../../text/i18n.js';
import type { PageContext } from '../layout/page.js';
import { readableCsv } from './readable-csv.js';
import { compareSentence } from './sentences.js';
import { type AnalyticsPageDeps, academicYearOf, analyticsPages, chartText } from './shared.js';

/**
 * The before-and-after uptake as a chart: one cluster per category value, the earlier and later
 * period side by side (the uptake chart, its rows each value in each period).
 */
export function compareChart(report: CompareReport, words: GroupLabeller, t: Translate): string {
  const filler = {
    cancelled: 0,
    lateCancelled: 0,
    attended: 0,
    noShow: 0,
    unrecorded: 0,
    upcoming: 0,
    supportBookings: 0,
  };
  const side = (
    value: string | null,
    period: 'before' | 'after',
    figures: CompareReport['rows'][number]['before'],
  ) => ({
    group: { [report.by]: value, period },
    ...filler,
    bookings: figures.bookings,
    attendanceRate: null,
    attendanceRateCi95: null,
    uniqueStudents: figures.uniqueStudents,
    uniqueAttendees: figures.uniqueAttendees,
    uptakeRate: figures.uptakeRate,
  });
  const rows = report.rows.flatMap((row) => [
    side(row.value, 'before', row.before),
    side(row.value, 'after', row.after),
  ]);
  const periods: GroupLabeller = {
    key: (key) => (key === 'period' ? t('analytics.compare.period') : words.key(key)),
    value: (key, value) =>
      key === 'period'
        ? t(value === 'before' ? 'analytics.compare.before' : 'analytics.compare.after')
        : words.value(key, value),
  };
  return renderChart(
    {
      from: report.before.from,
      to: report.after.to,
      groupBy: [report.by, 'period'],
      disclosure: report.disclosure,
      rows,
      totals: {
        ...filler,
        bookings: 0,
        attendanceRate: null,
        attendanceRateCi95: null,
        uniqueStudents: 0,
        uniqueAttendees: 0,
        uptakeRate: null,
      },
    },
    'uptakeRate',
    { labeller: periods, text: chartText(t), idPrefix: 'compare-chart' },
  );
}

/** Before and after: two periods compared. */
export async function comparePages(app: FastifyInstance, deps: AnalyticsPageDeps) {
  const { context, today, startMonth, readPeriod, attempt, readCommon, readBy, pageView, downloadRoute } =
    analyticsPages(app, deps);

  async function readCompare(request: FastifyRequest, page: PageContext) {
    const common = await readCommon(request, page);
    const thisYear = academicYearOf(today(), startMonth);
    const before = readPeriod(page, common.query, 'before', common.options, `year:${thisYear - 1}`);
    const after = readPeriod(page, common.query, 'after', common.options, `year:${thisYear}`);
    const errors = [...before.errors, ...after.errors, ...common.errors];
    const by = readBy(page, common, errors);
    if (errors.length === 0 && after.from <= before.to) {
      errors.push({ field: 'afterPeriod', message: page.t('analytics.compare.overlap') });
    }
    const serviceQuery = {
      ...common.filters,
      by,
      beforeFrom: before.from,
      beforeTo: before.to,
      afterFrom: after.from,
      afterTo: after.to,
      ...(common.hesa ? { disclosure: 'hesa' as const } : {}),
    };
    const form = { ...common, before, after, by, errors, serviceQuery };
    const report = await attempt(
      page,
      form,
      () => deps.uptake.compare(serviceQuery),
      (pointer) => (pointer === '/by' ? 'by' : pointer.startsWith('/after') ? 'afterPeriod' : 'beforePeriod'),
    );
    return { form, report };
  }

  app.get('/analytics/compare', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const { form, report } = await readCompare(request, page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/compare', {
      ...(await pageView(request, page, form)),
      title: page.t('analytics.compare.title'),
      report,
      sentences: report
        ? report.rows.map((row) => compareSentence(row, page.t, page.fmt.locale, report.disclosure === 'hesa'))
        : [],
      chart: report ? compareChart(report, form.words, page.t) : null,
    });
  });

  downloadRoute('/analytics/compare.csv', '/analytics/compare', async (request, page) => {
    const { form, report } = await readCompare(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return {
      name: `before-after-${body.by}-${body.before.from}-to-${body.after.to}.csv`,
      body: readableCsv(compareCsv(body, studentCounts), [body.by], form.words, page.t),
    };
  });
}
