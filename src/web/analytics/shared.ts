import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import type { ChartMetric, ChartText } from '../../modules/uptake/chart.js';
import { groupLabeller, type LabelWords } from '../../modules/uptake/service.js';
import { KEEP_PLACEHOLDERS, type Translate } from '../../text/i18n.js';
import type { WebDeps } from '../deps.js';
import { ISO_DATE, UUID } from '../layout/forms.js';
import { type PageContext, type PageError, pageContext } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';

/** What the analytics pages use of the web front's services. */
export type AnalyticsPageDeps = Pick<
  WebDeps,
  | 'campaignResults'
  | 'campaigns'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'config'
  | 'feedback'
  | 'librarians'
  | 'terms'
  | 'uptake'
  | 'waitlist'
>;

export type Query = Record<string, string | string[] | undefined>;

export const FIXED_GROUPS = ['companion', 'librarian', 'faculty', 'mode'] as const;
export const PERIOD_SPLITS = ['week', 'month', 'term', 'year'] as const;
export const METRICS: ChartMetric[] = ['attendanceRate', 'bookings', 'uptakeRate'];
/** Academic years offered in the period choice: this one and the ones before it. */
export const YEARS_OFFERED = 6;
/** A UTF-8 byte order mark, so Excel opens the download as UTF-8 (names with accents survive). */
export const BOM = '\uFEFF';

export const one = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
export const many = (value: string | string[] | undefined): string[] =>
  Array.isArray(value) ? value : value === undefined || value === '' ? [] : [value];
export const queryOf = (request: FastifyRequest) => {
  const search = request.url.split('?')[1];
  return search ? `?${search}` : '';
};
export const realDate = (value: string) => ISO_DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;

/** The words for fixed groups and values in the page's language. */
export function labelWords(t: Translate): LabelWords {
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

export function chartText(translate: Translate): ChartText {
  // Templates the chart fills in itself ({key}, {n}): their placeholders are kept.
  const t = (key: string) => translate(key, KEEP_PLACEHOLDERS);
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
export function numberFormat(locale: string) {
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
  const means = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
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
    /** A mean on a point scale, to two decimals (a change keeps its sign). */
    mean: (value: number | null) => (value === null ? '–' : means.format(value)),
    meanInterval: (value: number[] | null) =>
      value ? `${means.format(value[0] as number)} to ${means.format(value[1] as number)}` : '–',
  };
}

/** The academic year a day falls in, by its first calendar year (2026 for 2026/27). */
export function academicYearOf(date: string, startMonth: number): number {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return month >= startMonth ? year : year - 1;
}

export function academicYearRange(startYear: number, startMonth: number): { from: string; to: string } {
  const start = DateTime.fromObject({ year: startYear, month: startMonth, day: 1 }, { zone: 'UTC' });
  return { from: start.toISODate() as string, to: start.plus({ years: 1 }).minus({ days: 1 }).toISODate() as string };
}

export interface PeriodChoice {
  /** The select's value: year:2026, term:Autumn 2026 or dates. */
  choice: string;
  from: string;
  to: string;
  /** The from and to fields as typed (shown again when the choice is dates). */
  fromField: string;
  toField: string;
  errors: PageError[];
}

/** The helpers every analytics page uses, bound to the services and to `app` (for downloads). */
export function analyticsPages(app: FastifyInstance, deps: AnalyticsPageDeps) {
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
  function refusal(page: PageContext, error: unknown, fieldFor: (pointer: string) => string): PageError[] {
    if (!(error instanceof DomainError) || error.status >= 500) throw error;
    const pointers = error.extra.errors?.map((entry) => entry.pointer) ?? [];
    return [{ field: fieldFor(pointers[0] ?? ''), message: refusalText(page, error) }];
  }

  /** The report when the form is good and the service accepts it; else null, with the errors on the form. */
  async function attempt<T>(
    page: PageContext,
    form: { errors: PageError[] },
    run: () => Promise<T>,
    fieldFor: (pointer: string) => string,
  ): Promise<T | null> {
    if (form.errors.length > 0) return null;
    try {
      return await run();
    } catch (error) {
      form.errors.push(...refusal(page, error, fieldFor));
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
      // Their tables are wide: the page takes a laptop screen's width.
      wide: true,
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

  return {
    context,
    today,
    startMonth,
    periodOptions,
    readPeriod,
    readFilters,
    filterOptions,
    refusal,
    attempt,
    readCommon,
    readBy,
    pageView,
    downloadRoute,
  };
}
