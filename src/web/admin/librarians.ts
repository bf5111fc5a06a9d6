import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { EMAIL, UUID } from '../layout/forms.js';
import { knownValue, type PageError, pageUser } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/** Notices the librarians page shows after a change redirected to it (?notice=…). */
export const LIBRARIAN_NOTICES = ['added', 'saved', 'deactivated', 'reactivated'] as const;

/** Librarians: the list, adding one, editing, and deactivating with what it affects. */
export async function librariansPages(app: FastifyInstance, deps: AdminPageDeps) {
  const { clock } = deps;
  const context = adminContext(deps);

  async function renderLibrarians(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const user = request.session?.user ?? null;
    const page = context(request);
    const librarians = await deps.librarians.list(user, { includeInactive: true });
    return reply.code(status).view('admin/librarians', {
      ...page,
      title: page.t('admin.librarians.title'),
      librarians,
      form,
      errors,
      notice: knownValue((request.query as Form | undefined)?.notice, LIBRARIAN_NOTICES),
    });
  }

  /** A librarian's confirmed sessions still to come that were booked here (what deactivation affects). */
  async function upcomingBookings(user: AuthUser, librarianId: string) {
    const { bookings } = await deps.bookings.list(user, {
      librarianId,
      from: clock.now().toISOString(),
      status: 'confirmed',
      limit: 200,
      offset: 0,
    });
    return bookings.filter((booking) => booking.source === 'booked');
  }

  app.get('/admin', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('admin/home', { ...page, title: page.t('admin.title') });
  });

  app.get('/admin/librarians', { config: { page: true } }, async (request, reply) => {
    return renderLibrarians(request, reply, {}, []);
  });

  app.post('/admin/librarians', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const name = (form.name ?? '').trim();
    const email = (form.email ?? '').trim();
    if (!name || name.length > 200) errors.push({ field: 'name', message: page.t('admin.librarians.nameRequired') });
    if (!EMAIL.test(email)) errors.push({ field: 'email', message: page.t('signIn.email.invalid') });
    if (errors.length > 0) return renderLibrarians(request, reply, form, errors, 400);
    const subjects = (form.subjects ?? '')
      .split(',')
      .map((subject) => subject.trim())
      .filter(Boolean)
      .slice(0, 30);
    try {
      await deps.librarians.create(
        {
          name,
          email,
          ...(subjects.length > 0 ? { subjects } : {}),
          ...(form.faculty?.trim() ? { faculty: form.faculty.trim() } : {}),
        },
        pageUser(request),
      );
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderLibrarians(
        request,
        reply,
        form,
        [{ field: 'email', message: refusalText(page, error) }],
        error.status,
      );
    }
    return reply.redirect('/admin/librarians?notice=added', 303);
  });

  async function renderEdit(
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const librarian = await deps.librarians.get(request.session?.user ?? null, request.params.id);
    return reply.code(status).view('admin/edit', {
      ...page,
      title: page.t('admin.edit.title', { name: librarian.name }),
      librarian,
      form: form ?? {
        name: librarian.name,
        email: librarian.email ?? '',
        subjects: librarian.subjects.join(', '),
        faculty: librarian.faculty ?? '',
      },
      errors,
    });
  }

  app.get(
    '/admin/librarians/:id/edit',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      return renderEdit(request, reply, null, []);
    },
  );

  app.post(
    '/admin/librarians/:id/edit',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      const form = request.body ?? {};
      const name = (form.name ?? '').trim();
      const email = (form.email ?? '').trim();
      const errors: PageError[] = [];
      if (!name || name.length > 200) errors.push({ field: 'name', message: page.t('admin.librarians.nameRequired') });
      if (!EMAIL.test(email)) errors.push({ field: 'email', message: page.t('signIn.email.invalid') });
      if (errors.length > 0) return renderEdit(request, reply, form, errors, 400);
      try {
        await deps.librarians.update(
          request.params.id,
          {
            name,
            email,
            subjects: (form.subjects ?? '')
              .split(',')
              .map((subject) => subject.trim())
              .filter(Boolean)
              .slice(0, 30),
            faculty: form.faculty?.trim() || null,
          },
          pageUser(request),
        );
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return renderEdit(request, reply, form, [{ field: 'email', message: refusalText(page, error) }], error.status);
      }
      return reply.redirect('/admin/librarians?notice=saved', 303);
    },
  );

  app.get(
    '/admin/librarians/:id/deactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const user = pageUser(request);
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      const librarian = await deps.librarians.get(user, request.params.id);
      const upcoming = await upcomingBookings(user, librarian.id);
      return reply.view('admin/deactivate', {
        ...page,
        title: page.t('admin.deactivate.title', { name: librarian.name }),
        librarian,
        upcoming,
      });
    },
  );

  app.post(
    '/admin/librarians/:id/deactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const user = pageUser(request);
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const librarian = await deps.librarians.get(user, request.params.id);
      if (request.body?.upcoming === 'cancel') {
        const page = context(request);
        const upcoming = await upcomingBookings(user, librarian.id);
        for (const booking of upcoming) {
          // Each student is emailed by the cancellation itself.
          await deps.bookings.cancel(
            booking.id,
            { user, manageToken: null },
            { reason: page.t('admin.deactivate.reason', { name: librarian.name }) },
          );
        }
      }
      await deps.librarians.update(librarian.id, { active: false }, user);
      return reply.redirect('/admin/librarians?notice=deactivated', 303);
    },
  );

  // A librarian who comes back: students can book them again, with the hours they had.
  app.post(
    '/admin/librarians/:id/reactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      // The area's access rule lets admins only; update answers 404 for an unknown librarian itself: no read first.
      await deps.librarians.update(request.params.id, { active: true }, pageUser(request));
      return reply.redirect('/admin/librarians?notice=reactivated', 303);
    },
  );
}
