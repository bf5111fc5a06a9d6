import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFound } from '../../errors.js';
import { UUID } from '../layout/forms.js';
import { pageUser } from '../layout/page.js';
import { calendarPages, connectionLines } from '../staff/calendars.js';
import { type AdminPageDeps, adminContext } from './shared.js';

/**
 * Every librarian's own calendars and their state: which are failing, and whose times are
 * withheld; and, for any librarian, the page they have for their own (connect, choose, check,
 * remove), for an admin acting for them.
 */
export async function calendarsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  app.get('/admin/calendars', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const nowMs = deps.clock.now().getTime();
    const connections = await deps.calendars.listAll();
    // Active librarians only (list leaves the others out unless asked).
    const librarians = await deps.librarians.list(pageUser(request), {});
    return reply.view('admin/calendars', {
      ...page,
      title: page.t('admin.calendars.title'),
      failing: connections.filter((connection) => connection.state !== 'ok').length,
      connections: connections.map((connection) => ({
        ...connection,
        lines: connectionLines(page, connection, nowMs, deps.config.calendarStaleHours),
      })),
      librarians,
    });
  });

  calendarPages(app, deps, '/admin/librarians/:librarianId/calendars', async (request: FastifyRequest) => {
    const { librarianId } = request.params as { librarianId: string };
    if (!UUID.test(librarianId)) return undefined;
    const librarian = await deps.librarians.findRow(librarianId).catch((error: unknown) => {
      if (error instanceof NotFound) return undefined;
      throw error;
    });
    if (!librarian) return undefined;
    return {
      librarianId,
      actor: pageUser(request),
      base: `/admin/librarians/${librarianId}/calendars`,
      heading: (page) => page.t('admin.calendars.of', { name: librarian.name }),
      back: (page) => ({ href: '/admin/calendars', text: page.t('admin.calendars.back') }),
      notices: 'admin.calendars.notice',
    };
  });
}
