import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { LANGUAGES } from '../../text/languages.js';
import { EMAIL, UUID } from '../layout/forms.js';
import { knownValue, type PageError } from '../layout/page.js';
import { bookingPages } from './booking-page.js';
import { type Form, type StudentPageDeps, studentPages } from './shared.js';

/** A booking's friends: the student adds, corrects and removes them; a friend answers their invitation. */
export async function friendsRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { context, caller, ruleMessage } = studentPages(deps);
  const { bookingUrl, postedBooking, maxFriendsOf, bookingView } = bookingPages(deps);

  app.post(
    '/bookings/:id/friends',
    { config: { page: true, zoneReturn: (request) => ({ next: request.url.replace(/\/friends(?=$|\?)/, '') }) } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      const page = context(request);
      const name = (form.name ?? '').trim();
      const email = (form.email ?? '').trim();
      // A correction names the friend it corrects; its fields carry that friend's id.
      const companionId = form.companionId && UUID.test(form.companionId) ? form.companionId : undefined;
      const suffix = companionId ? `-${companionId}` : '';
      const language = knownValue(request.body?.language, LANGUAGES);
      const errors: PageError[] = [];
      if (!name || name.length > 200)
        errors.push({ field: `friend-name${suffix}`, message: page.t('book.friend.nameRequired') });
      if (email && !EMAIL.test(email))
        errors.push({ field: `friend-email${suffix}`, message: page.t('book.friend.emailInvalid') });
      const again = async (status: number, extraErrors: PageError[]) =>
        reply.code(status).view('student/booking', {
          ...page,
          title: page.t('booking.title'),
          ...bookingView(page, booking, token, null),
          justBooked: false,
          notice: null,
          friendErrors: extraErrors,
          ...(companionId ? { friendEdit: { companionId, name, email } } : { friendForm: { name, email, language } }),
          maxFriends: await maxFriendsOf(booking),
        });
      if (errors.length > 0) return again(400, errors);
      try {
        await deps.companions.putCompanion(booking.id, caller(request, token), {
          name,
          ...(email ? { email } : {}),
          ...(companionId ? { companionId } : {}),
          // A new friend's emails in the language chosen for them (a correction keeps theirs).
          ...(!companionId && language ? { language } : {}),
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return again(error.status, [{ field: `friend-name${suffix}`, message: ruleMessage(page, error) }]);
      }
      return reply.redirect(bookingUrl(booking.id, token, companionId ? 'friendCorrected' : 'friendSaved'), 303);
    },
  );

  app.post(
    '/bookings/:id/friends/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      if (!form.companionId || !UUID.test(form.companionId)) return reply.callNotFound();
      await deps.companions.removeCompanion(booking.id, caller(request, token), form.companionId);
      return reply.redirect(bookingUrl(booking.id, token, 'friendRemoved'), 303);
    },
  );

  // A friend answers through their own link: "I can't come", and (until the session starts) "I can come after all".
  for (const [path, notice] of [
    ['confirm', 'confirmed'],
    ['decline', 'declined'],
    ['rejoin', 'rejoined'],
  ] as const) {
    app.post(
      `/bookings/:id/${path}`,
      { config: { page: true } },
      async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
        const token = request.body?.token;
        if (!token || !UUID.test(request.params.id)) return reply.callNotFound();
        const friend = { user: null, manageToken: token };
        if (path === 'confirm') await deps.companions.confirmAsCompanion(request.params.id, friend);
        else if (path === 'decline') await deps.companions.declineAsCompanion(request.params.id, friend);
        else await deps.companions.rejoinAsCompanion(request.params.id, friend);
        return reply.redirect(bookingUrl(request.params.id, token, notice), 303);
      },
    );
  }
}
