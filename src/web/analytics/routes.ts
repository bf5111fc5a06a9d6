import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import { feedbackCsv } from '../../modules/feedback/csv.js';
import { type ChartMetric, type ChartText, renderChart, renderEffectChart } from '../../modules/uptake/chart.js';
import { companionEffectCsv, compareCsv, uptakeCsv } from '../../modules/uptake/render.js';
import { groupLabeller, type LabelWords } from '../../modules/uptake/service.js';
import type { WebDeps } from '../deps.js';
import { ISO_DATE, UUID } from '../layout/forms.js';
import type { Translate } from '../layout/i18n.js';
import { type PageContext, type PageError, pageContext, requireRole } from '../layout/page.js';
import { compareSentence, effectSentence } from './sentences.js';

/** What the analytics pages use of the web front's services. */
type AnalyticsPageDeps = Pick<
  WebDeps,
  'catalogues' | 'categories' | 'clock' | 'config' | 'feedback' | 'librarians' | 'terms' | 'uptake'
>;

type Query = Record<string, string | string[] | undefined>;

const FIXED_GROUPS = ['companion', 'librarian', 'faculty', 'mode'] as const;
const PERIOD_SPLITS = ['week', 'month', 'term', 'year'] as const;
const METRICS: ChartMetric[] = ['attendanceRate', 'bookings', 'uptakeRate'];
/** Academic years offered in the period choice: this one and the ones before it. */
const YEARS_OFFERED = 6;
/** A UTF-8 byte order mark, so Excel opens the download as UTF-8 (names with accents survive). */
const BOM = '\uFEFF';

const one = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
const many = (value: string | string[] | undefined): string[] =>
  Array.isArray(value) ? value : value === undefined || value === '' ? [] : [value];
const queryOf = (request: FastifyRequest) => {
  const search = request.url.split('?')[1];
  return search ? `?${search}` : '';
};
const realDate = (value: string) => ISO_DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;

/** The words for fixed groups and values in the page's language. */
function labelWords(t: Translate): LabelWords {
  return {
    notRecorded: t('analytics.value.notRecorded'),
    withFriend: t('analytics.value.withFriend'),
    withoutFriend: t('analytics.value.withoutFriend'),
    inPerson: t('analytics.value.inPerson'),
    online: t('analytics.value.online'),
    keys: Object.fromEntries(
      [...FIXED_GROUPS, ...PERIOD_SPLITS, 'all'].map((key) => [key, t(`analytics.group.${key}`)]),
    ),
  };
}

function chartText(t: Translate): ChartText {
  return {
    metric: {
      attendanceRate: t('analytics.metric.attendanceRate'),
      bookings: t('analytics.metric.bookings'),
      uptakeRate: t('analytics.metric.uptakeRate'),
    },
    interval: t('analytics.chart.interval'),
    by: t('analytics.chart.by'),
    versus: t('analytics.chart.versus'),
    lowCount: t('analytics.chart.lowCount'),
    noCohorts: t('analytics.chart.noCohorts'),
    noData: t('analytics.chart.noData'),
    n: t('analytics.chart.n'),
    effectTitle: t('analytics.chart.effectTitle'),
    effectAxis: t('analytics.chart.effectAxis'),
    effectZero: t('analytics.chart.effectZero'),
    effectNoData: t('analytics.chart.effectNoData'),
    effectMissing: t('analytics.chart.effectMissing'),
    effectLowCount: t('analytics.chart.effectLowCount'),
    moreInTable: t('analytics.chart.moreInTable'),
  };
}

/** Figures as the tables show them: counts grouped, rates as percentages with one decimal. */
function numberFormat(locale: string) {
  const count = new Intl.NumberFormat(locale);
  const percent = new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const points = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  });
  return {
    count: (value: number) => count.format(value),
    percent: (value: number | null) => (value === null ? '–' : percent.format(value)),
    interval: (value: number[] | null) =>
      value ? `${percent.format(value[0] as number)} to ${percent.format(value[1] as number)}` : '–',
    points: (value: number | null) => (value === null ? '–' : points.format(value * 100)),
    pointsInterval: (value: number[] | null) =>
      value ? `${points.format((value[0] as number) * 100)} to ${points.format((value[1] as number) * 100)}` : '–',
    p: (value: number | null) =>
      value === null ? '–' : value < 0.001 ? '< 0.001' : String(Number(value.toPrecision(2))),
  };
}

/** The academic year a day falls in, by its first calendar year (2026 for 2026/27). */
function academicYearOf(date: string, startMonth: number): number {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return month >= startMonth ? year : year - 1;
}

function academicYearRange(startYear: number, startMonth: number): { from: string; to: string } {
  const start = DateTime.fromObject({ year: startYear, month: startMonth, day: 1 }, { zone: 'UTC' });
  return { from: start.toISODate() as string, to: start.plus({ years: 1 }).minus({ days: 1 }).toISODate() as string };
}

interface PeriodChoice {
  /** The select's value: year:2026, term:Autumn 2026 or dates. */
  choice: string;
  from: string;
  to: string;
  /** The from and to fields as typed (shown again when the choice is dates). */
  fromField: string;
  toField: string;
  errors: PageError[];
}

/** Analytics pages: uptake, the companion effect and before-and-after, with their downloads. */
export async function analyticsRoutes(app: FastifyInstance, deps: AnalyticsPageDeps) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);
  const today = () =>
    DateTime.fromMillis(clock.now().getTime(), { zone: config.libraryTimeZone }).toISODate() as string;
  const startMonth = config.academicYearStartMonth;

  async function periodOptions(page: PageContext) {
    const thisYear = academicYearOf(today(), startMonth);
    const years = Array.from({ length: YEARS_OFFERED }, (_, index) => thisYear - index).map((year) => ({
      value: `year:${year}`,
      label: page.t('analytics.period.year', { year: `${year}/${String((year + 1) % 100).padStart(2, '0')}` }),
    }));
    const terms = (await deps.terms.listTerms()).map((term) => ({
      value: `term:${term.name}`,
      label: page.t('analytics.period.term', { name: term.name, from: term.startsOn, to: term.endsOn }),
      from: term.startsOn,
      to: term.endsOn,
    }));
    return { years, terms };
  }

  /** Reads one period choice (prefix '' or 'before'/'after') from the query. */
  function readPeriod(
    page: PageContext,
    query: Query,
    prefix: string,
    options: Awaited<ReturnType<typeof periodOptions>>,
    fallback: string,
  ): PeriodChoice {
    const name = (field: string) => (prefix ? `${prefix}${field[0]?.toUpperCase()}${field.slice(1)}` : field);
    const choice = one(query[name('period')]) || fallback;
    const fromField = one(query[name('from')]).trim();
    const toField = one(query[name('to')]).trim();
    const errors: PageError[] = [];
    if (choice.startsWith('year:') && /^year:\d{4}$/.test(choice)) {
      return { choice, ...academicYearRange(Number(choice.slice(5)), startMonth), fromField, toField, errors };
    }
    const term = options.terms.find((option) => option.value === choice);
    if (term) return { choice, from: term.from, to: term.to, fromField, toField, errors };
    if (choice !== 'dates') {
      errors.push({ field: name('period'), message: page.t('analytics.period.unknown') });
      return { choice, from: '', to: '', fromField, toField, errors };
    }
    if (!realDate(fromField)) errors.push({ field: name('from'), message: page.t('analytics.period.fromInvalid') });
    if (!realDate(toField) || toField < fromField) {
      errors.push({ field: name('to'), message: page.t('analytics.period.toInvalid') });
    }
    return { choice, from: fromField, to: toField, fromField, toField, errors };
  }

  /** Librarian, faculty, mode and category filters from the form, as service query keys. */
  async function readFilters(page: PageContext, query: Query) {
    const errors: PageError[] = [];
    const filters: Record<string, string> = {};
    const librarianId = one(query.librarianId);
    if (librarianId) {
      if (UUID.test(librarianId)) filters.librarianId = librarianId;
      else errors.push({ field: 'librarianId', message: page.t('analytics.filter.unknown') });
    }
    const faculty = one(query.faculty).trim();
    if (faculty) filters.faculty = faculty.slice(0, 200);
    const mode = one(query.mode);
    if (mode === 'in_person' || mode === 'online') filters.mode = mode;
    const dimensions = await deps.categories.listDimensions();
    for (const dimension of dimensions) {
      const value = one(query[`category.${dimension.key}`]);
      if (!value) continue;
      if (dimension.values.some((option) => option.value === value)) filters[dimension.key] = value;
      else errors.push({ field: `category.${dimension.key}`, message: page.t('analytics.filter.unknown') });
    }
    return { filters, errors, dimensions };
  }

  async function filterOptions(request: FastifyRequest) {
    const librarians = await deps.librarians.list(request.session?.user ?? null, { includeInactive: true });
    const faculties = [...new Set(librarians.map((librarian) => librarian.faculty).filter(Boolean))].sort() as string[];
    return { librarians: librarians.map((librarian) => ({ id: librarian.id, name: librarian.name })), faculties };
  }

  /** A service refusal (a rule about the query) shown against the field it names. */
  function refusal(error: unknown, fieldFor: (pointer: string) => string): PageError[] {
    if (!(error instanceof DomainError) || error.status >= 500) throw error;
    const pointers = error.extra.errors?.map((entry) => entry.pointer) ?? [];
    return [{ field: fieldFor(pointers[0] ?? ''), message: error.message }];
  }

  /** The report when the form is good and the service accepts it; else null, with the errors on the form. */
  async function attempt<T>(
    form: { errors: PageError[] },
    run: () => Promise<T>,
    fieldFor: (pointer: string) => string,
  ): Promise<T | null> {
    if (form.errors.length > 0) return null;
    try {
      return await run();
    } catch (error) {
      form.errors.push(...refusal(error, fieldFor));
      return null;
    }
  }

  /** What every analytics form reads: the query, the period choices, the filters and the categories. */
  async function readCommon(request: FastifyRequest, page: PageContext) {
    const query = (request.query ?? {}) as Query;
    const options = await periodOptions(page);
    const { dimensions, filters, errors } = await readFilters(page, query);
    const words = groupLabeller(dimensions, labelWords(page.t));
    return { query, options, dimensions, filters, errors, words, hesa: one(query.hesa) === 'on' };
  }

  /** The category to compare by: as chosen, else fee status, else the first. */
  function readBy(page: PageContext, common: Awaited<ReturnType<typeof readCommon>>, errors: PageError[]): string {
    const keys = common.dimensions.map((dimension) => dimension.key);
    const by = one(common.query.by) || (keys.includes('fee_status') ? 'fee_status' : (keys[0] ?? ''));
    if (!keys.includes(by)) errors.push({ field: 'by', message: page.t('analytics.filter.unknown') });
    return by;
  }

  /** What every analytics page shows besides its own report. */
  async function pageView(
    request: FastifyRequest,
    page: PageContext,
    form: Awaited<ReturnType<typeof readCommon>> & { errors: PageError[] },
  ) {
    return {
      ...page,
      form,
      filters: await filterOptions(request),
      errors: form.errors,
      words: form.words,
      numbers: numberFormat(page.fmt.locale),
      query: queryOf(request),
      isAdmin: page.user?.roles.includes('admin') ?? false,
    };
  }

  /**
   * A download of a page's table or chart on the signed-in session: the same query as the page;
   * a query the page would refuse goes back to the page, which says why.
   */
  function downloadRoute(
    url: string,
    pagePath: string,
    produce: (request: FastifyRequest, page: PageContext) => Promise<{ name: string; body: string } | null>,
  ) {
    app.get(url, { config: { page: true } }, async (request, reply) => {
      if (!requireRole(request, reply, deps, 'analyst')) return reply;
      const file = await produce(request, context(request));
      if (!file) return reply.redirect(`${pagePath}${queryOf(request)}`, 303);
      const csv = file.name.endsWith('.csv');
      return reply
        .header('content-disposition', `attachment; filename="${file.name}"`)
        .header('cache-control', 'private, no-store')
        .type(csv ? 'text/csv; charset=utf-8' : 'image/svg+xml; charset=utf-8')
        .send(csv ? BOM + file.body : file.body);
    });
  }

  // ---- Uptake ------------------------------------------------------------------------------

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
      form,
      () => deps.uptake.uptake(serviceQuery),
      (pointer) => (pointer === '/groupBy' || pointer === '/fill' ? `group-${groups[0] ?? 'companion'}` : 'period'),
    );
    return { form, report };
  }

  app.get('/analytics', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
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
    const { report } = await readUptake(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return { name: `uptake-${body.from}-to-${body.to}.csv`, body: uptakeCsv(body, studentCounts) };
  });

  downloadRoute('/analytics/uptake.svg', '/analytics', async (request, page) => {
    const { form, report } = await readUptake(request, page);
    if (!report) return null;
    const svg = renderChart(report, form.metric ?? 'attendanceRate', { labeller: form.words, text: chartText(page.t) });
    return { name: `uptake-${report.from}-to-${report.to}.svg`, body: svg };
  });

  // ---- Companion effect (and the feedback beside it) ----------------------------------------

  /** The form and, unless only the form is wanted (the feedback download), its report. */
  async function readEffect(request: FastifyRequest, page: PageContext, withReport = true) {
    const common = await readCommon(request, page);
    const period = readPeriod(page, common.query, '', common.options, `year:${academicYearOf(today(), startMonth)}`);
    const errors = [...period.errors, ...common.errors];
    const by = readBy(page, common, errors);
    const serviceQuery = {
      ...common.filters,
      from: period.from,
      to: period.to,
      by,
      ...(common.hesa ? { disclosure: 'hesa' as const } : {}),
    };
    const form = { ...common, period, by, errors, serviceQuery };
    const report = withReport
      ? await attempt(
          form,
          () => deps.uptake.companionEffect(serviceQuery),
          (pointer) => (pointer === '/by' ? 'by' : 'period'),
        )
      : null;
    return { form, report };
  }

  app.get('/analytics/companion-effect', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const { form, report } = await readEffect(request, page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/effect', {
      ...(await pageView(request, page, form)),
      title: page.t('analytics.effect.title'),
      report,
      sentences: report ? report.rows.map((row) => effectSentence(row, page.t, page.fmt.locale)) : [],
      // How the sessions felt, for the same period, category and filters.
      feedback: report ? await deps.feedback.figures(form.serviceQuery) : null,
      chart: report
        ? renderEffectChart(report, {
            labeller: form.words,
            text: chartText(page.t),
            idPrefix: 'effect-chart',
            byLabel: form.words.key(report.by),
          })
        : null,
    });
  });

  downloadRoute('/analytics/companion-effect.csv', '/analytics/companion-effect', async (request, page) => {
    const { report } = await readEffect(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return {
      name: `companion-effect-${body.by}-${body.from}-to-${body.to}.csv`,
      body: companionEffectCsv(body, studentCounts),
    };
  });

  downloadRoute('/analytics/companion-effect.svg', '/analytics/companion-effect', async (request, page) => {
    const { form, report } = await readEffect(request, page);
    if (!report) return null;
    const svg = renderEffectChart(report, {
      labeller: form.words,
      text: chartText(page.t),
      byLabel: form.words.key(report.by),
    });
    return { name: `companion-effect-${report.by}-${report.from}-to-${report.to}.svg`, body: svg };
  });

  downloadRoute('/analytics/feedback.csv', '/analytics/companion-effect', async (request, page) => {
    const { form } = await readEffect(request, page, false);
    if (form.errors.length > 0) return null;
    const { studentCounts, ...body } = await deps.feedback.figures(form.serviceQuery);
    return { name: `feedback-${body.by}-${body.from}-to-${body.to}.csv`, body: feedbackCsv(body, studentCounts) };
  });

  // ---- Before and after --------------------------------------------------------------------

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
      form,
      () => deps.uptake.compare(serviceQuery),
      (pointer) => (pointer === '/by' ? 'by' : pointer.startsWith('/after') ? 'afterPeriod' : 'beforePeriod'),
    );
    return { form, report };
  }

  app.get('/analytics/compare', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const { form, report } = await readCompare(request, page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/compare', {
      ...(await pageView(request, page, form)),
      title: page.t('analytics.compare.title'),
      report,
      sentences: report ? report.rows.map((row) => compareSentence(row, page.t, page.fmt.locale)) : [],
    });
  });

  downloadRoute('/analytics/compare.csv', '/analytics/compare', async (request, page) => {
    const { report } = await readCompare(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return {
      name: `before-after-${body.by}-${body.before.from}-to-${body.after.to}.csv`,
      body: compareCsv(body, studentCounts),
    };
  });
}
