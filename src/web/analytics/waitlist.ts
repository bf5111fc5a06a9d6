import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import { ISO_DATE } from '../layout/forms.js';
import { type PageError, pageContext } from '../layout/page.js';
import type { AnalyticsPageDeps } from './shared.js';

type Form = Record<string, string | undefined>;

/** Unmet demand: who waited, for what, who was offered a time and who took one, by month. */
export async function waitlistFigurePages(app: FastifyInstance, deps: AnalyticsPageDeps) {
  app.get(
    '/analytics/waitlist',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      const page = pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
      const today = DateTime.fromMillis(deps.clock.now().getTime(), { zone: page.timeZone });
      const form = {
        from: request.query.from ?? (today.minus({ months: 6 }).startOf('month').toISODate() as string),
        to: request.query.to ?? (today.toISODate() as string),
        groupBy: request.query.groupBy ?? '',
        hesa: request.query.hesa === 'on',
      };
      const dimensions = await deps.categories.listDimensions();
      const errors: PageError[] = [];
      if (!ISO_DATE.test(form.from)) errors.push({ field: 'from', message: page.t('analytics.waitlist.dateInvalid') });
      if (!ISO_DATE.test(form.to)) errors.push({ field: 'to', message: page.t('analytics.waitlist.dateInvalid') });
      if (form.groupBy && !dimensions.some((dimension) => dimension.key === form.groupBy)) form.groupBy = '';
      let rows: Awaited<ReturnType<typeof deps.waitlist.figures>> = [];
      if (errors.length === 0) {
        try {
          rows = await deps.waitlist.figures({
            from: form.from,
            to: form.to,
            ...(form.groupBy ? { groupBy: form.groupBy } : {}),
            ...(form.hesa ? { disclosure: 'hesa' as const } : {}),
          });
        } catch (error) {
          if (!(error instanceof DomainError) || error.status >= 500) throw error;
          errors.push({ field: 'to', message: page.t('analytics.waitlist.rangeOrder') });
        }
      }
      const dimension = dimensions.find((one) => one.key === form.groupBy);
      return reply.code(errors.length > 0 ? 400 : 200).view('analytics/waitlist', {
        ...page,
        title: page.t('analytics.waitlist.title'),
        current: '/analytics/waitlist',
        form,
        errors,
        dimensions,
        groupLabel: dimension?.label ?? null,
        rows: rows.map((row) => ({
          ...row,
          month: DateTime.fromISO(`${row.month}-01`).setLocale(page.fmt.locale).toFormat('LLLL yyyy'),
          group:
            row.group === null
              ? null
              : (dimension?.values.find((value) => value.value === row.group)?.label ?? row.group),
        })),
      });
    },
  );
}
