import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import { feedbackCsv } from '../../modules/feedback/csv.js';
import { type ChartMetric, type ChartText, renderChart, renderEffectChart } from '../../modules/uptake/chart.js';
import { companionEffectCsv, compareCsv, uptakeCsv } from '../../modules/uptake/render.js';
import type { GroupLabeller, LabelWords } from '../../modules/uptake/service.js';
import { ISO_DATE, UUID } from '../layout/forms.js';
import type { Translate } from '../layout/i18n.js';
import { type PageContext, type PageError, pageContext, requireRole } from '../layout/page.js';
import type { WebDeps } from '../plugin.js';
import { compareSentence, effectSentence } from './sentences.js';

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
export async function analyticsRoutes(app: FastifyInstance, deps: WebDeps) {
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

  async function labeller(page: PageContext): Promise<GroupLabeller> {
    return deps.uptake.labeller(labelWords(page.t));
  }

  /** A service refusal (a rule about the query) shown against the field it names. */
  function refusal(error: unknown, fieldFor: (pointer: string) => string): PageError[] {
    if (!(error instanceof DomainError) || error.status >= 500) throw error;
    const pointers = error.extra.errors?.map((entry) => entry.pointer) ?? [];
    return [{ field: fieldFor(pointers[0] ?? ''), message: error.message }];
  }

  const download = (reply: FastifyReply, name: string, type: string, body: string) =>
    reply
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'private, no-store')
      .type(type)
      .send(body);

  // ---- Uptake ------------------------------------------------------------------------------

  async function readUptake(request: FastifyRequest, page: PageContext) {
    const query = (request.query ?? {}) as Query;
    const options = await periodOptions(page);
    const { dimensions, filters, errors: filterErrors } = await readFilters(page, query);
    const submitted = query.period !== undefined;
    const period = readPeriod(page, query, '', options, `year:${academicYearOf(today(), startMonth)}`);
    const groupKeys = [...dimensions.map((dimension) => dimension.key), ...FIXED_GROUPS];
    // First visit: the mission's question, fee status by with or without a friend.
    const groups = submitted
      ? many(query.group).filter((key) => groupKeys.includes(key))
      : ['fee_status', 'companion'].filter((key) => groupKeys.includes(key));
    const split = one(query.split);
    const errors = [...period.errors, ...filterErrors];
    if (split && !(PERIOD_SPLITS as readonly string[]).includes(split)) {
      errors.push({ field: 'split', message: page.t('analytics.filter.unknown') });
    }
    const metric = (METRICS as string[]).includes(one(query.metric)) ? (one(query.metric) as ChartMetric) : null;
    const hesa = one(query.hesa) === 'on';
    const fill = one(query.fill) === 'on';
    const groupBy = [...groups, ...(split && (PERIOD_SPLITS as readonly string[]).includes(split) ? [split] : [])];
    const friend = one(query.friend);
    const serviceQuery = {
      ...filters,
      ...(friend === 'with' || friend === 'without' ? { companion: friend === 'with' } : {}),
      from: period.from,
      to: period.to,
      ...(groupBy.length > 0 ? { groupBy: groupBy.join(',') } : {}),
      ...(hesa ? { disclosure: 'hesa' as const } : {}),
      ...(fill ? { fill: true } : {}),
    };
    return { options, dimensions, period, groups, split, metric, hesa, fill, groupBy, errors, serviceQuery, query };
  }

  async function uptakeReport(form: Awaited<ReturnType<typeof readUptake>>) {
    if (form.errors.length > 0) return null;
    try {
      return await deps.uptake.uptake(form.serviceQuery);
    } catch (error) {
      form.errors.push(
        ...refusal(error, (pointer) =>
          pointer === '/groupBy' || pointer === '/fill' ? `group-${form.groups[0] ?? 'companion'}` : 'period',
        ),
      );
      return null;
    }
  }

  app.get('/analytics', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readUptake(request, page);
    const report = await uptakeReport(form);
    const words = await labeller(page);
    const metric = form.metric ?? 'attendanceRate';
    const numbers = numberFormat(page.fmt.locale);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/uptake', {
      ...page,
      title: page.t('analytics.uptake.title'),
      form,
      filters: await filterOptions(request),
      errors: form.errors,
      report,
      words,
      numbers,
      metric,
      metrics: METRICS,
      splits: PERIOD_SPLITS,
      fixedGroups: FIXED_GROUPS,
      hasUptake: Boolean(report?.rows.some((row) => row.uptakeRate !== null)),
      chart: report
        ? renderChart(report, metric, { labeller: words, text: chartText(page.t), idPrefix: 'uptake-chart' })
        : null,
      query: queryOf(request),
      isAdmin: page.user?.roles.includes('admin') ?? false,
    });
  });

  app.get('/analytics/uptake.csv', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readUptake(request, page);
    const report = await uptakeReport(form);
    if (!report) return reply.redirect(`/analytics${queryOf(request)}`, 303);
    const { studentCounts, ...body } = report;
    return download(
      reply,
      `uptake-${body.from}-to-${body.to}.csv`,
      'text/csv; charset=utf-8',
      BOM + uptakeCsv(body, studentCounts),
    );
  });

  app.get('/analytics/uptake.svg', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readUptake(request, page);
    const report = await uptakeReport(form);
    if (!report) return reply.redirect(`/analytics${queryOf(request)}`, 303);
    const words = await labeller(page);
    const svg = renderChart(report, form.metric ?? 'attendanceRate', { labeller: words, text: chartText(page.t) });
    return download(reply, `uptake-${report.from}-to-${report.to}.svg`, 'image/svg+xml; charset=utf-8', svg);
  });

  // ---- Companion effect --------------------------------------------------------------------

  async function readEffect(request: FastifyRequest, page: PageContext) {
    const query = (request.query ?? {}) as Query;
    const options = await periodOptions(page);
    const { dimensions, filters, errors: filterErrors } = await readFilters(page, query);
    const period = readPeriod(page, query, '', options, `year:${academicYearOf(today(), startMonth)}`);
    const errors = [...period.errors, ...filterErrors];
    const keys = dimensions.map((dimension) => dimension.key);
    const by = one(query.by) || (keys.includes('fee_status') ? 'fee_status' : (keys[0] ?? ''));
    if (!keys.includes(by)) errors.push({ field: 'by', message: page.t('analytics.filter.unknown') });
    const hesa = one(query.hesa) === 'on';
    const serviceQuery = {
      ...filters,
      from: period.from,
      to: period.to,
      by,
      ...(hesa ? { disclosure: 'hesa' as const } : {}),
    };
    return { options, dimensions, period, by, hesa, errors, serviceQuery, query };
  }

  async function effectReport(form: Awaited<ReturnType<typeof readEffect>>) {
    if (form.errors.length > 0) return null;
    try {
      return await deps.uptake.companionEffect(form.serviceQuery);
    } catch (error) {
      form.errors.push(...refusal(error, (pointer) => (pointer === '/by' ? 'by' : 'period')));
      return null;
    }
  }

  /** How the sessions felt, for the same period, category and librarian as the companion effect. */
  async function feedbackReport(form: Awaited<ReturnType<typeof readEffect>>) {
    return deps.feedback.figures(form.serviceQuery);
  }

  app.get('/analytics/feedback.csv', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const form = await readEffect(request, context(request));
    if (form.errors.length > 0) return reply.redirect(`/analytics/companion-effect${queryOf(request)}`, 303);
    const { studentCounts, ...body } = await feedbackReport(form);
    return download(
      reply,
      `feedback-${body.by}-${body.from}-to-${body.to}.csv`,
      'text/csv; charset=utf-8',
      BOM + feedbackCsv(body, studentCounts),
    );
  });

  app.get('/analytics/companion-effect', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readEffect(request, page);
    const report = await effectReport(form);
    const words = await labeller(page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/effect', {
      ...page,
      title: page.t('analytics.effect.title'),
      form,
      filters: await filterOptions(request),
      errors: form.errors,
      report,
      words,
      numbers: numberFormat(page.fmt.locale),
      sentences: report ? report.rows.map((row) => effectSentence(row, page.t, page.fmt.locale)) : [],
      feedback: report ? await feedbackReport(form) : null,
      chart: report
        ? renderEffectChart(report, {
            labeller: words,
            text: chartText(page.t),
            idPrefix: 'effect-chart',
            byLabel: words.key(report.by),
          })
        : null,
      query: queryOf(request),
    });
  });

  app.get('/analytics/companion-effect.csv', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const form = await readEffect(request, context(request));
    const report = await effectReport(form);
    if (!report) {
      return reply.redirect(`/analytics/companion-effect${queryOf(request)}`, 303);
    }
    const { studentCounts, ...body } = report;
    return download(
      reply,
      `companion-effect-${body.by}-${body.from}-to-${body.to}.csv`,
      'text/csv; charset=utf-8',
      BOM + companionEffectCsv(body, studentCounts),
    );
  });

  app.get('/analytics/companion-effect.svg', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readEffect(request, page);
    const report = await effectReport(form);
    if (!report) {
      return reply.redirect(`/analytics/companion-effect${queryOf(request)}`, 303);
    }
    const words = await labeller(page);
    const svg = renderEffectChart(report, { labeller: words, text: chartText(page.t), byLabel: words.key(report.by) });
    return download(
      reply,
      `companion-effect-${report.by}-${report.from}-to-${report.to}.svg`,
      'image/svg+xml; charset=utf-8',
      svg,
    );
  });

  // ---- Before and after --------------------------------------------------------------------

  async function readCompare(request: FastifyRequest, page: PageContext) {
    const query = (request.query ?? {}) as Query;
    const options = await periodOptions(page);
    const { dimensions, filters, errors: filterErrors } = await readFilters(page, query);
    const thisYear = academicYearOf(today(), startMonth);
    const before = readPeriod(page, query, 'before', options, `year:${thisYear - 1}`);
    const after = readPeriod(page, query, 'after', options, `year:${thisYear}`);
    const errors = [...before.errors, ...after.errors, ...filterErrors];
    const keys = dimensions.map((dimension) => dimension.key);
    const by = one(query.by) || (keys.includes('fee_status') ? 'fee_status' : (keys[0] ?? ''));
    if (!keys.includes(by)) errors.push({ field: 'by', message: page.t('analytics.filter.unknown') });
    if (errors.length === 0 && after.from <= before.to) {
      errors.push({ field: 'afterPeriod', message: page.t('analytics.compare.overlap') });
    }
    const hesa = one(query.hesa) === 'on';
    const serviceQuery = {
      ...filters,
      by,
      beforeFrom: before.from,
      beforeTo: before.to,
      afterFrom: after.from,
      afterTo: after.to,
      ...(hesa ? { disclosure: 'hesa' as const } : {}),
    };
    return { options, dimensions, before, after, by, hesa, errors, serviceQuery, query };
  }

  async function compareReport(form: Awaited<ReturnType<typeof readCompare>>) {
    if (form.errors.length > 0) return null;
    try {
      return await deps.uptake.compare(form.serviceQuery);
    } catch (error) {
      form.errors.push(
        ...refusal(error, (pointer) =>
          pointer === '/by' ? 'by' : pointer.startsWith('/after') ? 'afterPeriod' : 'beforePeriod',
        ),
      );
      return null;
    }
  }

  app.get('/analytics/compare', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const page = context(request);
    const form = await readCompare(request, page);
    const report = await compareReport(form);
    const words = await labeller(page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/compare', {
      ...page,
      title: page.t('analytics.compare.title'),
      form,
      filters: await filterOptions(request),
      errors: form.errors,
      report,
      words,
      numbers: numberFormat(page.fmt.locale),
      sentences: report ? report.rows.map((row) => compareSentence(row, page.t, page.fmt.locale)) : [],
      query: queryOf(request),
      isAdmin: page.user?.roles.includes('admin') ?? false,
    });
  });

  app.get('/analytics/compare.csv', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'analyst')) return reply;
    const form = await readCompare(request, context(request));
    const report = await compareReport(form);
    if (!report) return reply.redirect(`/analytics/compare${queryOf(request)}`, 303);
    const { studentCounts, ...body } = report;
    return download(
      reply,
      `before-after-${body.by}-${body.before.from}-to-${body.after.to}.csv`,
      'text/csv; charset=utf-8',
      BOM + compareCsv(body, studentCounts),
    );
  });
}
