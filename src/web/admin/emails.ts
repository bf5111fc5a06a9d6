import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UUID } from '../layout/forms.js';
import { knownValue, pageUser } from '../layout/page.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/** Notices the emails page shows after a retry redirected to it. */
export const EMAIL_NOTICES = ['retried'] as const;

/** Emails that could not be sent, and trying them again. */
export async function emailsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  app.get('/admin/emails', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const dead = await deps.notifications.list({ status: 'dead', limit: 100 });
    return reply.view('admin/emails', {
      ...page,
      title: page.t('admin.emails.title'),
      dead: dead.map((row) => ({ ...row, when: page.fmt.full(Date.parse(row.sendAfter)) })),
      notice: knownValue((request.query as Form | undefined)?.notice, EMAIL_NOTICES),
    });
  });

  app.post(
    '/admin/emails/:id/retry',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      await deps.notifications.retry(request.params.id, pageUser(request));
      return reply.redirect('/admin/emails?notice=retried', 303);
    },
  );
}
