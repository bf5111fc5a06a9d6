import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { EMAIL } from '../layout/forms.js';
import { type PageError, pageUser } from '../layout/page.js';

/** Notices the page shows after an erasure redirected to it. */
export const PEOPLE_NOTICES = ['erased', 'confirmErasure', 'staffEmail'] as const;

import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/**
 * A person's data, for a subject access request: an admin searches by email and reads everything
 * held about that person on one page, or downloads it as JSON (the API's own export).
 */
export async function peoplePages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  /** The email asked about (from the form's body: an address never travels in a URL), checked. */
  function readEmail(request: FastifyRequest, page: ReturnType<typeof context>) {
    const email = ((request.body as Form | undefined)?.email ?? '').trim();
    const errors: PageError[] =
      email && (!EMAIL.test(email) || email.length > 254)
        ? [{ field: 'person-email', message: page.t('admin.people.invalid') }]
        : [];
    return { email, errors };
  }

  /** The page, with what is held about `email` when one was asked about. */
  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    options: { email: string; errors: PageError[]; notice: (typeof PEOPLE_NOTICES)[number] | null; status?: number },
  ) {
    const page = context(request);
    const { email, errors, notice } = options;
    const data = email && errors.length === 0 ? await deps.people.exportPerson(email, pageUser(request)) : null;
    const when = (value: string | null) => (value ? page.fmt.full(Date.parse(value)) : '–');
    return reply.code(options.status ?? (errors.length > 0 ? 400 : 200)).view('admin/people', {
      ...page,
      notice,
      title: page.t('admin.people.title'),
      email,
      errors,
      data,
      when,
      found: data
        ? data.students.length +
            data.bookings.length +
            data.invitations.length +
            data.emails.length +
            data.waitlist.length >
            0 || data.signIns.links.length > 0
        : false,
    });
  }

  app.get('/admin/people', { config: { page: true } }, async (request, reply) =>
    render(request, reply, { email: '', errors: [], notice: null }),
  );

  app.post('/admin/people', { config: { page: true } }, async (request, reply) => {
    const { email, errors } = readEmail(request, context(request));
    return render(request, reply, { email, errors, notice: null });
  });

  app.post(
    '/admin/people/erase',
    { config: { page: true } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const { email, errors } = readEmail(request, context(request));
      if (!email || errors.length > 0) return render(request, reply, { email, errors, notice: null });
      if (request.body?.confirm !== 'yes')
        return render(request, reply, { email, errors: [], notice: 'confirmErasure', status: 400 });
      try {
        await deps.people.erase(email, pageUser(request));
      } catch (error) {
        if (error instanceof DomainError && error.code === 'staff_email')
          return render(request, reply, { email, errors: [], notice: 'staffEmail', status: 409 });
        throw error;
      }
      return render(request, reply, { email, errors: [], notice: 'erased' });
    },
  );

  app.post('/admin/people/export.json', { config: { page: true } }, async (request, reply) => {
    const { email, errors } = readEmail(request, context(request));
    if (!email || errors.length > 0) return render(request, reply, { email, errors, notice: null });
    const data = await deps.people.exportPerson(email, pageUser(request));
    return reply
      .header('content-disposition', `attachment; filename="person-data-${data.exportedAt.slice(0, 10)}.json"`)
      .header('cache-control', 'private, no-store')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(data, null, 2));
  });
}
