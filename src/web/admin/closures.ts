import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { readDateRange, UUID } from '../layout/forms.js';
import { type PageError, pageUser } from '../layout/page.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/** Library-wide closures: the list, adding one and lifting one. */
export async function closuresPages(app: FastifyInstance, deps: AdminPageDeps) {
  const { config, clock } = deps;
  const context = adminContext(deps);

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
    return renderClosures(request, reply, {}, []);
  });

  app.post('/admin/closures', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = pageUser(request);
    const page = context(request);
    const form = request.body ?? {};
    const { from, to, errors } = readDateRange(page, form);
    if (errors.length > 0) return renderClosures(request, reply, form, errors, 400);
    await deps.availability.createOverride(
      null,
      { from, to, ...(form.reason?.trim() ? { reason: form.reason.trim().slice(0, 500) } : {}) },
      user,
    );
    return reply.redirect('/admin/closures', 303);
  });

  app.post(
    '/admin/closures/:closureId/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { closureId: string } }>, reply) => {
      if (!UUID.test(request.params.closureId)) return reply.callNotFound();
      await deps.availability.deleteOverride(null, request.params.closureId, pageUser(request));
      return reply.redirect('/admin/closures', 303);
    },
  );
}
