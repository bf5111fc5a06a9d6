import type { FastifyInstance, FastifyRequest } from 'fastify';
import { feedbackCsv } from '../../modules/feedback/csv.js';
import { renderEffectChart } from '../../modules/uptake/chart.js';
import { companionEffectCsv, friendsLaterCsv } from '../../modules/uptake/render.js';
import type { PageContext } from '../layout/page.js';
import { readableCsv } from './readable-csv.js';
import { effectSentence } from './sentences.js';

/** Below this many answers, a share ("100%" from one answer) is marked as resting on few. */
export const FEW_ANSWERS = 10;

import { type AnalyticsPageDeps, academicYearOf, analyticsPages, chartText } from './shared.js';

/** The companion effect, and the feedback beside it. */
export async function companionEffectPages(app: FastifyInstance, deps: AnalyticsPageDeps) {
  const { context, today, startMonth, readPeriod, attempt, readCommon, readBy, pageView, downloadRoute } =
    analyticsPages(app, deps);

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
          page,
          form,
          () => deps.uptake.companionEffect(serviceQuery),
          (pointer) => (pointer === '/by' ? 'by' : 'period'),
        )
      : null;
    return { form, report };
  }

  /** The friends-later figures for the page's period and category (the other filters are about bookings, not friends). */
  function friendsLater(form: Awaited<ReturnType<typeof readEffect>>['form'], of: 'friend' | 'student') {
    const { from, to, by, disclosure } = form.serviceQuery as {
      from: string;
      to: string;
      by: string;
      disclosure?: 'hesa';
    };
    return deps.uptake.friendsLater({ from, to, by, of, ...(disclosure ? { disclosure } : {}) });
  }

  app.get('/analytics/companion-effect', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const { form, report } = await readEffect(request, page);
    return reply.code(form.errors.length > 0 ? 400 : 200).view('analytics/effect', {
      ...(await pageView(request, page, form)),
      title: page.t('analytics.effect.title'),
      report,
      sentences: report
        ? report.rows.map((row) => effectSentence(row, page.t, page.fmt.locale, report.disclosure === 'hesa'))
        : [],
      // How the sessions felt, for the same period, category and filters.
      feedback: report ? await deps.feedback.figures(form.serviceQuery) : null,
      // Before and after: did nerves fall, with and without a friend?
      nerves: report ? await deps.feedback.nerves(form.serviceQuery) : null,
      // The librarians' effort (READ scale), with and without a friend.
      effort: report ? await deps.uptake.effort(form.serviceQuery) : null,
      // What the friends did next: by their own category and by the student's who brought them.
      ripple: report ? await friendsLater(form, 'friend') : null,
      rippleByStudent: report ? await friendsLater(form, 'student') : null,
      // Shares from fewer answers than this are marked "(few)", as the effect table marks few bookings.
      fewAnswers: FEW_ANSWERS,
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
    const { form, report } = await readEffect(request, page);
    if (!report) return null;
    const { studentCounts, ...body } = report;
    return {
      name: `companion-effect-${body.by}-${body.from}-to-${body.to}.csv`,
      body: readableCsv(companionEffectCsv(body, studentCounts), [body.by], form.words, page.t),
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

  downloadRoute('/analytics/friends-later.csv', '/analytics/companion-effect', async (request, page) => {
    const { form } = await readEffect(request, page, false);
    if (form.errors.length > 0) return null;
    const { studentCounts, ...body } = await friendsLater(form, 'friend');
    return {
      name: `friends-later-${body.by}-${body.from}-to-${body.to}.csv`,
      body: readableCsv(friendsLaterCsv(body, studentCounts), [body.by ?? 'group'], form.words, page.t),
    };
  });

  downloadRoute('/analytics/feedback.csv', '/analytics/companion-effect', async (request, page) => {
    const { form } = await readEffect(request, page, false);
    if (form.errors.length > 0) return null;
    const { studentCounts, ...body } = await deps.feedback.figures(form.serviceQuery);
    return {
      name: `feedback-${body.by}-${body.from}-to-${body.to}.csv`,
      body: readableCsv(feedbackCsv(body, studentCounts), [body.by], form.words, page.t),
    };
  });
}
