import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { EMAIL } from '../layout/forms.js';
import { knownValue, type PageError, pageUser } from '../layout/page.js';

/** Notices the page shows after an erasure redirected to it. */
export const PEOPLE_NOTICES = ['erased', 'confirmErasure', 'staffEmail'] as const;

import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/**
 * A person's data, for a subject access request: an admin searches by email and reads everything
 * held about that person on one page, or downloads it as JSON (the API's own export).
 */
export async function peoplePages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  /** The email asked about, when one is given: checked, or an error naming the field. */
  function readEmail(request: FastifyRequest, page: ReturnType<typeof context>) {
    const email = ((request.query as Form | undefined)?.email ?? '').trim();
    const errors: PageError[] =
      email && (!EMAIL.test(email) || email.length > 254)
        ? [{ field: 'person-email', message: page.t('admin.people.invalid') }]
        : [];
    return { email, errors };
  }

  app.get('/admin/people', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const { email, errors } = readEmail(request, page);
    const data = email && errors.length === 0 ? await deps.people.exportPerson(email, pageUser(request)) : null;
    const when = (value: string | null) => (value ? page.fmt.full(Date.parse(value)) : '–');
    return reply.code(errors.length > 0 ? 400 : 200).view('admin/people', {
      ...page,
      notice: knownValue((request.query as Form | undefined)?.notice, PEOPLE_NOTICES),
      title: page.t('admin.people.title'),
      email,
      errors,
      data,
      when,
      found: data
        ? data.students.length + data.bookings.length + data.invitations.length + data.emails.length > 0 ||
          data.signIns.links.length > 0
        : false,
    });
  });

  app.post(
    '/admin/people/erase',
    { config: { page: true } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const body = request.body ?? {};
      const email = (body.email ?? '').trim();
      const back = (notice: string) =>
        reply.redirect(`/admin/people?email=${encodeURIComponent(email)}&notice=${notice}`, 303);
      if (!EMAIL.test(email)) return reply.redirect('/admin/people', 303);
      if (body.confirm !== 'yes') return back('confirmErasure');
      try {
        await deps.people.erase(email, pageUser(request));
      } catch (error) {
        if (error instanceof DomainError && error.code === 'staff_email') return back('staffEmail');
        throw error;
      }
      return back('erased');
    },
  );

  app.get('/admin/people/export.json', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const { email, errors } = readEmail(request, page);
    if (!email || errors.length > 0) return reply.redirect(`/admin/people?email=${encodeURIComponent(email)}`, 303);
    const data = await deps.people.exportPerson(email, pageUser(request));
    return reply
      .header('content-disposition', 'attachment; filename="person-data.json"')
      .header('cache-control', 'private, no-store')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(data, null, 2));
  });
}
