import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ChartMetric, renderChart } from '../../modules/uptake/chart.js';
import { uptakeCsv } from '../../modules/uptake/render.js';
import type { PageContext } from '../layout/page.js';
import { readableCsv } from './readable-csv.js';
import {
  type AnalyticsPageDeps,
  academicYearOf,
  analyticsPages,
  chartText,
  FIXED_GROUPS,
  METRICS,
  many,
  one,
  PERIOD_SPLITS,
} from './shared.js';

/** Uptake: figures grouped and filtered, the chart, and their downloads. */
export async function uptakePages(app: FastifyInstance, deps: AnalyticsPageDeps) {
  const { context, today, startMonth, readPeriod, attempt, readCommon, pageView, downloadRoute } = analyticsPages(
    app,
    deps,
  );

  async function readUptake(request: FastifyRequest, page: PageContext) {
    const common = await readCommon(request, page);
    const { query, dimensions, filters } = common;
    const submitted = query.period !== undefined;
    const period = readPeriod(page, query, '', common.options, `year:${academicYearOf(today(), startMonth)}`);
    const groupKeys = [...dimensions.map((dimension) => dimension.key), ...FIXED_GROUPS];
    // First visit: the mission's question, fee status by with or without a friend.
    const groups = submitted
      ? many(query.group).filter((key) => groupKeys.includes(key))
      : ['fee_status', 'companion'].filter((key) => groupKeys.includes(key));
    const split = one(query.split);
    const errors = [...period.errors, ...common.errors];
    const knownSplit = (PERIOD_SPLITS as readonly string[]).includes(split);
    if (split && !knownSplit) errors.push({ field: 'split', message: page.t('analytics.filter.unknown') });
    const metric = (METRICS as string[]).includes(one(query.metric)) ? (one(query.metric) as ChartMetric) : null;
    const fill = one(query.fill) === 'on';
    const groupBy = [...groups, ...(knownSplit ? [split] : [])];
    const friend = one(query.friend);
    const serviceQuery = {
      ...filters,
      ...(friend === 'with' || friend === 'without' ? { companion: friend === 'with' } : {}),
      from: period.from,
      to: period.to,
      ...(groupBy.length > 0 ? { groupBy: groupBy.join(',') } : {}),
      ...(common.hesa ? { disclosure: 'hesa' as const } : {}),
      ...(fill ? { fill: true } : {}),
    };
    const form = { ...common, period, groups, split, metric, fill, groupBy, errors, serviceQuery };
    const report = await attempt(
      page,
      form,
      () => deps.uptake.uptake(serviceQuery),
      (pointer) => (pointer === '/groupBy' || pointer === '/fill' ? `group-${groups[0] ?? 'companion'}` : 'period'),
    );
    return { form, report };
  }

  app.get('/analytics', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const { form, report } = await readUptake(request, page);
    const metric = form.metric ?? 'attendanceRate';
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/uptake', {
      ...(await pageView(request, page, form)),
      title: page.t('analytics.uptake.title'),
      report,
      metric,
      metrics: METRICS,
      splits: PERIOD_SPLITS,
      fixedGroups: FIXED_GROUPS,
      hasUptake: Boolean(report?.rows.some((row) => row.uptakeRate !== null)),
      chart: report
        ? renderChart(report, metric, { labeller: form.words, text: chartText(page.t), idPrefix: 'uptake-chart' })
        : null,
    });
  });

  downloadRoute('/analytics/uptake.csv', '/analytics', async (request, page) => {
    const { form, report } = await readUptake(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return {
      name: `uptake-${body.from}-to-${body.to}.csv`,
      body: readableCsv(uptakeCsv(body, studentCounts), body.groupBy, form.words, page.t),
    };
  });

  downloadRoute('/analytics/uptake.svg', '/analytics', async (request, page) => {
    const { form, report } = await readUptake(request, page);
    if (!report) return null;
    const svg = renderChart(report, form.metric ?? 'attendanceRate', { labeller: form.words, text: chartText(page.t) });
    return { name: `uptake-${report.from}-to-${report.to}.svg`, body: svg };
  });
}
