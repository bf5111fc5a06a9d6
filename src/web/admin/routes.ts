import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { WebDeps } from '../deps.js';
import { EMAIL, ISO_DATE, readDateRange, UUID } from '../layout/forms.js';
import { knownValue, type PageError, pageContext, requireRole } from '../layout/page.js';
import { sameToken } from '../session.js';

/** What the admin pages use of the web front's services. */
type AdminPageDeps = Pick<
  WebDeps,
  | 'availability'
  | 'bookings'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'config'
  | 'imports'
  | 'librarians'
  | 'notifications'
  | 'terms'
>;

type Form = Record<string, string | undefined>;

const CSV_LIMIT_BYTES = 5 * 1024 * 1024;

/** Admin pages: librarians, closures, imports of past sessions and email problems. */
export async function adminRoutes(app: FastifyInstance, deps: AdminPageDeps) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);
  await app.register(multipart, { limits: { files: 1, fileSize: CSV_LIMIT_BYTES, fields: 10 } });

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
      notice: knownValue((request.query as Form | undefined)?.notice, ['added', 'saved', 'deactivated'] as const),
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
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    const page = context(request);
    return reply.view('admin/home', { ...page, title: page.t('admin.title') });
  });

  app.get('/admin/librarians', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    return renderLibrarians(request, reply, {}, []);
  });

  app.post('/admin/librarians', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
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
      if (!requireRole(request, reply, deps, 'admin')) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      return renderEdit(request, reply, null, []);
    },
  );

  app.post(
    '/admin/librarians/:id/edit',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      if (!requireRole(request, reply, deps, 'admin')) return reply;
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
        await deps.librarians.update(request.params.id, {
          name,
          email,
          subjects: (form.subjects ?? '')
            .split(',')
            .map((subject) => subject.trim())
            .filter(Boolean)
            .slice(0, 30),
          faculty: form.faculty?.trim() || null,
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return renderEdit(request, reply, form, [{ field: 'email', message: error.message }], error.status);
      }
      return reply.redirect('/admin/librarians?notice=saved', 303);
    },
  );

  app.get(
    '/admin/librarians/:id/deactivate',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const user = requireRole(request, reply, deps, 'admin');
      if (!user) return reply;
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
      const user = requireRole(request, reply, deps, 'admin');
      if (!user) return reply;
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
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    return renderClosures(request, reply, {}, []);
  });

  app.post('/admin/closures', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = requireRole(request, reply, deps, 'admin');
    if (!user) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const { from, to, errors } = readDateRange(page, form);
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
      if (!requireRole(request, reply, deps, 'admin')) return reply;
      if (!UUID.test(request.params.closureId)) return reply.callNotFound();
      await deps.availability.deleteOverride(null, request.params.closureId);
      return reply.redirect('/admin/closures', 303);
    },
  );

  app.get('/admin/imports', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
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
    if (!requireRole(request, reply, deps, 'admin')) return reply;
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
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    const page = context(request);
    const dead = await deps.notifications.list({ status: 'dead', limit: 100 });
    return reply.view('admin/emails', {
      ...page,
      title: page.t('admin.emails.title'),
      dead: dead.map((row) => ({ ...row, when: page.fmt.full(Date.parse(row.sendAfter)) })),
      notice: knownValue((request.query as Form | undefined)?.notice, ['retried'] as const),
    });
  });

  app.post(
    '/admin/emails/:id/retry',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!requireRole(request, reply, deps, 'admin')) return reply;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      await deps.notifications.retry(request.params.id);
      return reply.redirect('/admin/emails?notice=retried', 303);
    },
  );
}

const KEY = /^[a-z][a-z0-9_]{0,39}$/;
const BLANK = 2;

/** Admin pages for the taxonomy and the denominators: categories, terms and cohort sizes. */
export async function adminTaxonomyRoutes(app: FastifyInstance, deps: AdminPageDeps) {
  const { config } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  /** "value = Label" per line, as the categories form shows them. */
  function valueLines(values: { value: string; label: string }[]): string {
    return values.map((value) => `${value.value} = ${value.label}`).join('\n');
  }

  async function renderCategories(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const current = await deps.categories.listDimensions();
    const values: Form =
      form ??
      Object.fromEntries(
        current.flatMap((dimension, index) => [
          [`key_${index}`, dimension.key],
          [`label_${index}`, dimension.label],
          [`values_${index}`, valueLines(dimension.values)],
        ]),
      );
    const rows = form ? Number(form.rows ?? 0) : current.length + BLANK;
    return reply.code(status).view('admin/categories', {
      ...page,
      title: page.t('admin.categories.title'),
      values,
      rows: Array.from({ length: Math.min(rows, 20) }, (_, index) => index),
      errors,
      saved: (request.query as Form | undefined)?.saved === '1',
    });
  }

  app.get('/admin/categories', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    return renderCategories(request, reply, null, []);
  });

  app.post('/admin/categories', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const dimensions: { key: string; label: string; values: { value: string; label: string }[] }[] = [];
    for (let index = 0; index < Math.min(Number(form.rows ?? 0), 20); index++) {
      const key = (form[`key_${index}`] ?? '').trim();
      const label = (form[`label_${index}`] ?? '').trim();
      const lines = (form[`values_${index}`] ?? '')
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      if (form[`remove_${index}`] === 'yes' || (!key && !label && lines.length === 0)) continue;
      if (!KEY.test(key)) errors.push({ field: `key_${index}`, message: page.t('admin.categories.keyInvalid') });
      if (!label || label.length > 100)
        errors.push({ field: `label_${index}`, message: page.t('admin.categories.labelRequired') });
      const values = lines.map((line) => {
        const [value = '', ...rest] = line.split('=');
        return { value: value.trim(), label: rest.join('=').trim() };
      });
      if (
        values.length === 0 ||
        values.some((value) => !KEY.test(value.value) || !value.label || value.label.length > 100)
      ) {
        errors.push({ field: `values_${index}`, message: page.t('admin.categories.valuesInvalid') });
      }
      dimensions.push({ key, label, values });
    }
    if (errors.length > 0) return renderCategories(request, reply, form, errors, 400);
    try {
      await deps.categories.replaceDimensions(dimensions);
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderCategories(request, reply, form, [{ field: 'key_0', message: error.message }], error.status);
    }
    return reply.redirect('/admin/categories?saved=1', 303);
  });

  async function renderTerms(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const terms = await deps.terms.listTerms();
    const cohorts = await deps.terms.listCohorts();
    const dimensions = await deps.categories.listDimensions();
    const values: Form =
      form ??
      Object.fromEntries([
        ...terms.flatMap((term, index) => [
          [`name_${index}`, term.name],
          [`startsOn_${index}`, term.startsOn],
          [`endsOn_${index}`, term.endsOn],
        ]),
        ...cohorts.map((cohort) => [
          `size.${terms.findIndex((term) => term.name === cohort.term)}.${cohort.dimension}.${cohort.value}`,
          String(cohort.size),
        ]),
      ]);
    const rows = form ? Number(form.rows ?? 0) : terms.length + BLANK;
    return reply.code(status).view('admin/terms', {
      ...page,
      title: page.t('admin.terms.title'),
      values,
      rows: Array.from({ length: Math.min(rows, 50) }, (_, index) => index),
      terms,
      dimensions,
      errors,
      saved: (request.query as Form | undefined)?.saved === '1',
    });
  }

  app.get('/admin/terms', { config: { page: true } }, async (request, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    return renderTerms(request, reply, null, []);
  });

  app.post('/admin/terms', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!requireRole(request, reply, deps, 'admin')) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const terms: { name: string; startsOn: string; endsOn: string }[] = [];
    for (let index = 0; index < Math.min(Number(form.rows ?? 0), 50); index++) {
      const name = (form[`name_${index}`] ?? '').trim();
      const startsOn = (form[`startsOn_${index}`] ?? '').trim();
      const endsOn = (form[`endsOn_${index}`] ?? '').trim();
      if (!name && !startsOn && !endsOn) continue;
      if (!name || name.length > 100)
        errors.push({ field: `name_${index}`, message: page.t('admin.terms.nameRequired') });
      if (!ISO_DATE.test(startsOn))
        errors.push({ field: `startsOn_${index}`, message: page.t('staff.record.dateInvalid') });
      if (!ISO_DATE.test(endsOn) || endsOn < startsOn)
        errors.push({ field: `endsOn_${index}`, message: page.t('staff.timeOff.toInvalid') });
      terms.push({ name, startsOn, endsOn });
    }
    // Cohort fields are size.<term row>.<dimension key>.<value key>: keys never hold a dot.
    const cohorts = Object.entries(form)
      .filter(([name, value]) => name.startsWith('size.') && (value ?? '').trim() !== '')
      .map(([name, value]) => {
        const [, row = '', dimension = '', categoryValue = ''] = name.split('.');
        const term = (form[`name_${row}`] ?? '').trim();
        return { field: name, term, dimension, value: categoryValue, size: Number((value ?? '').trim()) };
      });
    for (const cohort of cohorts) {
      if (!Number.isInteger(cohort.size) || cohort.size < 0 || cohort.size > 10_000_000) {
        errors.push({ field: cohort.field, message: page.t('admin.terms.sizeInvalid') });
      }
    }
    if (errors.length > 0) return renderTerms(request, reply, form, errors, 400);
    try {
      await deps.terms.putTerms(terms);
      const names = new Set(terms.map((term) => term.name));
      await deps.terms.putCohorts(
        cohorts
          .filter((cohort) => names.has(cohort.term))
          .map(({ term, dimension, value, size }) => ({ term, dimension, value, size })),
      );
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderTerms(request, reply, form, [{ field: 'name_0', message: error.message }], error.status);
    }
    return reply.redirect('/admin/terms?saved=1', 303);
  });
}
