import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import type { FeedbackAnswers } from '../../modules/feedback/schemas.js';
import type { FeedbackForm, FeedbackLink } from '../../modules/feedback/service.js';
import type { WebDeps } from '../deps.js';
import { type PageError, pageContext } from '../layout/page.js';
import { formFields } from '../layout/zone-routes.js';

/** What the feedback pages use of the web front's services. */
type FeedbackPageDeps = Pick<WebDeps, 'catalogues' | 'config' | 'feedback'>;

type Form = Record<string, string | undefined>;

/** The form's values as answers; a value that is not a number stays one so the check can name it. */
function answersFrom(form: Form): FeedbackAnswers {
  const point = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
  const bookMyself = form.bookMyself ?? '';
  return {
    nervous: point(form.nervous),
    useful: point(form.useful),
    nervesNow: point(form.nervesNow),
    comment: form.comment ?? null,
    bookMyself: bookMyself === '' ? null : (bookMyself as FeedbackAnswers['bookMyself']),
  };
}

/**
 * After-session feedback, opened from the emailed link without signing in: the token is the only
 * key, and like a booking's manage link it stays in this site's own URLs (the zone choice returns
 * here with it). The pages link nowhere else, and Referrer-Policy is no-referrer.
 */
export async function feedbackPageRoutes(app: FastifyInstance, deps: FeedbackPageDeps) {
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, deps.config.libraryTimeZone);

  function renderLink(
    request: FastifyRequest,
    reply: FastifyReply,
    link: FeedbackLink,
    token: string,
    options: { values?: Form; errors?: PageError[]; saved?: boolean; status?: number } = {},
  ) {
    const page = context(request);
    if (link.state !== 'open') {
      return reply.code(link.state === 'expired' ? 410 : 404).view('layout/message', {
        ...page,
        title: page.t(`feedback.${link.state}.title`),
        message: page.t(`feedback.${link.state}.body`),
        link: { href: '/', text: page.t('home.title') },
      });
    }
    const form: FeedbackForm = link.form;
    const answers = form.answers;
    const values: Form = options.values ?? {
      nervous: answers?.nervous?.toString() ?? '',
      useful: answers?.useful?.toString() ?? '',
      nervesNow: answers?.nervesNow?.toString() ?? '',
      comment: answers?.comment ?? '',
      bookMyself: answers?.bookMyself ?? '',
    };
    return reply.code(options.status ?? 200).view('feedback/form', {
      ...page,
      title: page.t('feedback.title'),
      token,
      form,
      values,
      errors: options.errors ?? [],
      saved: options.saved ?? false,
      when: page.fmt.span(form.startMs, form.endMs),
      expires: page.fmt.day(form.expiresMs),
    });
  }

  app.get('/feedback', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const token = request.query?.token ?? '';
    const link = await deps.feedback.open(token);
    reply.header('cache-control', 'private, no-store');
    return renderLink(request, reply, link, token, { saved: request.query?.saved === '1' });
  });

  const feedbackAgain = (request: FastifyRequest) => ({
    next: `/feedback?token=${encodeURIComponent(formFields(request.body).token ?? '')}`,
  });
  app.post(
    '/feedback',
    { config: { page: true, zoneReturn: feedbackAgain } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const form = request.body ?? {};
      const token = form.token ?? '';
      reply.header('cache-control', 'private, no-store');
      try {
        const link = await deps.feedback.submit(token, answersFrom(form));
        if (link.state !== 'open') return renderLink(request, reply, link, token);
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        const page = context(request);
        const link = await deps.feedback.open(token);
        const errors = (error.extra.errors ?? []).map((entry) => {
          const field = entry.pointer.slice(1);
          return {
            field: field === 'comment' ? 'comment' : `${field}-1`,
            message: page.t(`feedback.error.${field}`),
          };
        });
        return renderLink(request, reply, link, token, { values: form, errors, status: 400 });
      }
      return reply.redirect(`/feedback?token=${encodeURIComponent(token)}&saved=1`, 303);
    },
  );
}
