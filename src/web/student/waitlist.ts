import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError, NotFound } from '../../errors.js';
import type { JoinWaitlist } from '../../modules/waitlist/schemas.js';
import { EMAIL, ISO_DATE, UUID } from '../layout/forms.js';
import { type PageContext, type PageError, requireSignIn } from '../layout/page.js';
import { type Form, type Reply, type StudentPageDeps, studentPages } from './shared.js';

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const TOKEN = /^[\w-]{20,100}$/;
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

/** What a student waits for (a librarian or a pool), as the service takes it, and its name. */
type Target = { input: Pick<JoinWaitlist, 'librarianId' | 'subject' | 'team'>; name: string };

/** Waiting for a time: joining, seeing and leaving the waitlist, and taking or passing on an offer. */
export async function waitlistPages(app: FastifyInstance, deps: StudentPageDeps) {
  const { context, poolQuery, today, forbidden } = studentPages(deps);

  /** What the student is waiting for, from the link they came by: a librarian, or a pool. */
  async function targetOf(form: Form): Promise<Target | null> {
    // No such librarian or pool is not found; any other failure is the server's.
    const unlessMissing = (error: unknown) => {
      if (error instanceof NotFound) return null;
      throw error;
    };
    if (form.librarian && UUID.test(form.librarian)) {
      const librarian = await deps.librarians.get(null, form.librarian).catch(unlessMissing);
      return librarian && { input: { librarianId: librarian.id }, name: librarian.name };
    }
    const pool = poolQuery(form.pool);
    if (!pool) return null;
    const resolved = await deps.pools.resolve(pool).catch(unlessMissing);
    return resolved && { input: pool, name: resolved.name };
  }

  async function renderJoin(
    request: FastifyRequest,
    reply: Reply,
    target: Target,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    return reply.code(status).view('student/waitlist-join', {
      ...page,
      title: page.t('waitlist.join.title', { name: target.name }),
      form: { from: today(page), ...form },
      errors,
      weekdays: WEEKDAYS.map((day) => ({
        day,
        name: DateTime.fromObject({ weekday: day as 1 }, { locale: page.t('email.locale') }).toFormat('cccc'),
      })),
      today: today(page),
    });
  }

  /** The signed-in student; anyone else gets the sign-in page, or a page saying students only. */
  function student(request: FastifyRequest, reply: Reply) {
    const user = requireSignIn(request, reply, ['student']);
    if (!user && request.session?.user) void reply.code(403).view('layout/message', forbidden(request));
    return user;
  }

  app.get(
    '/waitlist/join',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      if (!student(request, reply)) return reply;
      const target = await targetOf(request.query);
      if (!target) return reply.callNotFound();
      return renderJoin(request, reply, target, request.query, []);
    },
  );

  app.post('/waitlist/join', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = student(request, reply);
    if (!user) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const target = await targetOf(form);
    if (!target) return reply.callNotFound();
    const errors = checkJoin(page, form);
    if (errors.length > 0) return renderJoin(request, reply, target, form, errors, 400);
    const weekdays = WEEKDAYS.filter((day) => form[`day${day}`] === 'on');
    try {
      await deps.waitlist.join(user, {
        ...target.input,
        from: form.from as string,
        to: form.to as string,
        ...(weekdays.length > 0 && weekdays.length < 7 ? { weekdays } : {}),
        ...(form.earliest ? { earliest: form.earliest } : {}),
        ...(form.latest ? { latest: form.latest } : {}),
        ...(form.friendName?.trim()
          ? {
              companion: {
                name: form.friendName.trim(),
                ...(form.friendEmail?.trim() ? { email: form.friendEmail.trim() } : {}),
              },
            }
          : {}),
      });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      const pointer = error.extra.errors?.[0]?.pointer ?? '';
      const field = pointer === '/latest' ? 'latest' : pointer === '/from' ? 'from' : 'to';
      const message =
        error.code === 'waitlist_limit'
          ? page.t('waitlist.join.limit')
          : error.code === 'bad_times'
            ? page.t('waitlist.join.timesOrder')
            : page.t('waitlist.join.datesRange');
      return renderJoin(
        request,
        reply,
        target,
        form,
        [{ field: error.code === 'waitlist_limit' ? 'from' : field, message }],
        error.status,
      );
    }
    return reply.redirect('/bookings?waiting=1', 303);
  });

  function checkJoin(page: PageContext, form: Form): PageError[] {
    const errors: PageError[] = [];
    if (!ISO_DATE.test(form.from ?? '')) errors.push({ field: 'from', message: page.t('waitlist.join.dateInvalid') });
    if (!ISO_DATE.test(form.to ?? '')) errors.push({ field: 'to', message: page.t('waitlist.join.dateInvalid') });
    else if (ISO_DATE.test(form.from ?? '') && (form.to as string) < (form.from as string))
      errors.push({ field: 'to', message: page.t('waitlist.join.datesOrder') });
    for (const field of ['earliest', 'latest'] as const) {
      if (form[field] && !TIME.test(form[field] as string))
        errors.push({ field, message: page.t('waitlist.join.timeInvalid') });
    }
    if ((form.friendName ?? '').length > 200)
      errors.push({ field: 'friendName', message: page.t('book.friend.nameTooLong') });
    if (form.friendEmail?.trim() && !EMAIL.test(form.friendEmail.trim()))
      errors.push({ field: 'friendEmail', message: page.t('book.friend.emailInvalid') });
    return errors;
  }

  app.post(
    '/waitlist/:id/leave',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const user = student(request, reply);
      if (!user) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      await deps.waitlist.leave(user, request.params.id);
      return reply.redirect('/bookings?left=1', 303);
    },
  );

  async function renderOffer(
    request: FastifyRequest,
    reply: Reply,
    token: string,
    status = 200,
    note: 'ended' | 'passed' | null = null,
  ) {
    const page = context(request);
    let offer: Awaited<ReturnType<typeof deps.waitlist.offer>>;
    try {
      offer = await deps.waitlist.offer(token);
    } catch (error) {
      if (error instanceof DomainError && error.status === 404) return reply.callNotFound();
      throw error;
    }
    const startMs = Date.parse(offer.start);
    return reply.code(status).view('student/waitlist-offer', {
      ...page,
      title:
        offer.status === 'open' && !note
          ? page.t('waitlist.offer.title')
          : note === 'passed'
            ? page.t('waitlist.offer.passedTitle')
            : page.t('waitlist.offer.endedTitle'),
      offer,
      open: offer.status === 'open' && !note,
      passed: note === 'passed',
      when: page.fmt.span(startMs, Date.parse(offer.end)),
      deadline: page.fmt.full(Date.parse(offer.expires)),
      token,
    });
  }

  app.get(
    '/waitlist/offer',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      const token = request.query.token ?? '';
      if (!TOKEN.test(token)) return reply.callNotFound();
      return renderOffer(request, reply, token);
    },
  );

  app.post('/waitlist/offer', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const form = request.body ?? {};
    const token = form.token ?? '';
    if (!TOKEN.test(token)) return reply.callNotFound();
    try {
      if (form.answer === 'take') {
        const booking = await deps.waitlist.accept(token);
        const manage = booking.links?.manage ? new URL(booking.links.manage) : null;
        return reply.redirect(manage ? `${manage.pathname}${manage.search}&booked=1` : '/bookings', 303);
      }
      await deps.waitlist.decline(token);
      return renderOffer(request, reply, token, 200, 'passed');
    } catch (error) {
      if (error instanceof DomainError && error.code === 'offer_gone')
        return renderOffer(request, reply, token, 409, 'ended');
      throw error;
    }
  });
}
