import type { FastifyInstance } from 'fastify';
import { connectionLines } from '../staff/calendars.js';
import { type AdminPageDeps, adminContext } from './shared.js';

/** Every librarian's own calendars and their state: which are failing, and whose times are withheld. */
export async function calendarsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  app.get('/admin/calendars', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const nowMs = deps.clock.now().getTime();
    const connections = await deps.calendars.listAll();
    return reply.view('admin/calendars', {
      ...page,
      title: page.t('admin.calendars.title'),
      failing: connections.filter((connection) => connection.state !== 'ok').length,
      connections: connections.map((connection) => ({
        ...connection,
        lines: connectionLines(page, connection, nowMs, deps.config.calendarStaleHours),
      })),
    });
  });
}
