import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { type PageError, pageContext, requireSignIn } from '../layout/page.js';
import type { WebDeps } from '../plugin.js';
import { sameToken } from '../session.js';

type Form = Record<string, string | undefined>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UUID = /^[0-9a-f-]{36}$/;
const CSV_LIMIT_BYTES = 5 * 1024 * 1024;

/** Admin pages: librarians, closures, imports of past sessions and email problems. */
export async function adminRoutes(app: FastifyInstance, deps: WebDeps) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);
  await app.register(multipart, { limits: { files: 1, fileSize: CSV_LIMIT_BYTES, fields: 10 } });

  function adminOnly(request: FastifyRequest, reply: FastifyReply): AuthUser | null {
    const user = requireSignIn(request, reply);
    if (!user) return null;
    if (!user.roles.includes('admin')) {
      const page = context(request);
      void reply.code(403).view('layout/message', {
        ...page,
        title: page.t('error.forbidden.title'),
        message: page.t('error.forbidden.body'),
      });
      return null;
    }
    return user;
  }

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
      notice: (request.query as Form | undefined)?.notice ?? null,
    });
  }

  app.get('/admin', { config: { page: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    const page = context(request);
    return reply.view('admin/home', { ...page, title: page.t('admin.title') });
  });

  app.get('/admin/librarians', { config: { page: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    return renderLibrarians(request, reply, {}, []);
  });

  app.post('/admin/librarians', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!adminOnly(request, reply)) return reply;
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
      await deps.librarians.create({
        name,
        email,
        ...(subjects.length > 0 ? { subjects } : {}),
        ...(form.faculty?.trim() ? { faculty: form.faculty.trim() } : {}),
      });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderLibrarians(request, reply, form, [{ field: 'email', message: error.message }], error.status);
    }
    return reply.redirect('/admin/librarians?notice=added', 303);
  });

  app.get(
    '/admin/librarians/:id/deactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const user = adminOnly(request, reply);
      if (!user) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      const librarian = await deps.librarians.get(user, request.params.id);
      const upcoming = await deps.bookings.list(user, {
        librarianId: librarian.id,
        from: clock.now().toISOString(),
        status: 'confirmed',
        limit: 200,
        offset: 0,
      });
      return reply.view('admin/deactivate', {
        ...page,
        title: page.t('admin.deactivate.title', { name: librarian.name }),
        librarian,
        upcoming: upcoming.bookings.filter((booking) => booking.source === 'booked'),
      });
    },
  );

  app.post(
    '/admin/librarians/:id/deactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const user = adminOnly(request, reply);
      if (!user) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const librarian = await deps.librarians.get(user, request.params.id);
      if (request.body?.upcoming === 'cancel') {
        const page = context(request);
        const upcoming = await deps.bookings.list(user, {
          librarianId: librarian.id,
          from: clock.now().toISOString(),
          status: 'confirmed',
          limit: 200,
          offset: 0,
        });
        for (const booking of upcoming.bookings.filter((b) => b.source === 'booked')) {
          // Each student is emailed by the cancellation itself.
          await deps.bookings.cancel(
            booking.id,
            { user, manageToken: null },
            { reason: page.t('admin.deactivate.reason', { name: librarian.name }) },
          );
        }
      }
      await deps.librarians.update(librarian.id, { active: false });
      return reply.redirect('/admin/librarians?notice=deactivated', 303);
    },
  );

  async function renderClosures(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const today = DateTime.fromMillis(clock.now().getTime(), { zone: config.libraryTimeZone }).toISODate() as string;
    return reply.code(status).view('admin/closures', {
      ...page,
      title: page.t('admin.closures.title'),
      closures: await deps.availability.listOverrides(null, { from: today }),
      form,
      errors,
      today,
    });
  }

  app.get('/admin/closures', { config: { page: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    return renderClosures(request, reply, {}, []);
  });

  app.post('/admin/closures', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = adminOnly(request, reply);
    if (!user) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const from = form.from ?? '';
    const to = form.to?.trim() || from;
    const errors: PageError[] = [];
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) errors.push({ field: 'from', message: page.t('staff.record.dateInvalid') });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(to) || to < from)
      errors.push({ field: 'to', message: page.t('staff.timeOff.toInvalid') });
    if (errors.length > 0) return renderClosures(request, reply, form, errors, 400);
    await deps.availability.createOverride(
      null,
      { from, to, ...(form.reason?.trim() ? { reason: form.reason.trim().slice(0, 500) } : {}) },
      `admin:${user.email ?? user.sub}`,
    );
    return reply.redirect('/admin/closures', 303);
  });

  app.post(
    '/admin/closures/:closureId/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { closureId: string } }>, reply) => {
      if (!adminOnly(request, reply)) return reply;
      if (!UUID.test(request.params.closureId)) return reply.callNotFound();
      await deps.availability.deleteOverride(null, request.params.closureId);
      return reply.redirect('/admin/closures', 303);
    },
  );

  app.get('/admin/imports', { config: { page: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    const page = context(request);
    return reply.view('admin/imports', {
      ...page,
      title: page.t('admin.imports.title'),
      result: null,
      errors: [],
      lineErrors: [],
    });
  });

  app.post('/admin/imports', { config: { page: true, csrfInHandler: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    const page = context(request);
    let csv = '';
    let skipInvalid = false;
    let token = '';
    for await (const part of request.parts()) {
      if (part.type === 'file') csv = (await part.toBuffer()).toString('utf8');
      else if (part.fieldname === 'skipInvalid') skipInvalid = part.value === 'yes';
      else if (part.fieldname === '_csrf') token = String(part.value);
    }
    const render = (status: number, extra: Record<string, unknown>) =>
      reply.code(status).view('admin/imports', {
        ...page,
        title: page.t('admin.imports.title'),
        result: null,
        errors: [],
        lineErrors: [],
        ...extra,
      });
    // Multipart bodies are read here, so the CSRF check is here too.
    if (!request.session || !sameToken(request.session.csrfToken, token)) {
      return render(403, { errors: [{ field: 'file', message: page.t('error.csrf') }] });
    }
    if (!csv.trim()) return render(400, { errors: [{ field: 'file', message: page.t('admin.imports.fileRequired') }] });
    try {
      const result = await deps.imports.importSessions({ csv }, { skipInvalid });
      return render(200, { result });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return render(error.status, {
        errors: [{ field: 'file', message: error.message }],
        lineErrors: (error.extra.errors ?? []).map((entry) => entry.message),
      });
    }
  });

  app.get('/admin/emails', { config: { page: true } }, async (request, reply) => {
    if (!adminOnly(request, reply)) return reply;
    const page = context(request);
    const dead = await deps.notifications.list({ status: 'dead', limit: 100 });
    return reply.view('admin/emails', {
      ...page,
      title: page.t('admin.emails.title'),
      dead: dead.map((row) => ({ ...row, when: page.fmt.full(Date.parse(row.sendAfter)) })),
      notice: (request.query as Form | undefined)?.notice ?? null,
    });
  });

  app.post(
    '/admin/emails/:id/retry',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!adminOnly(request, reply)) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      await deps.notifications.retry(request.params.id);
      return reply.redirect('/admin/emails?notice=retried', 303);
    },
  );
}
