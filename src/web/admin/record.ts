import type { FastifyInstance } from 'fastify';
import { STAFF_ACTIONS } from '../../modules/staff-record/service.js';
import { addDays, formatCivilDate, localDaysToInstants, parseCivilDate } from '../../time/zone.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/** Days of the record the page shows, up to today. */
const DAYS_SHOWN = 90;

/** The record of staff actions, for admins: the last 90 days, newest last, filtered by action or person. */
export async function recordPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  app.get('/admin/record', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const query = (request.query as Form | undefined) ?? {};
    const actor = (query.actor ?? '').trim().slice(0, 254);
    const action = STAFF_ACTIONS.find((known) => known === query.action);
    const today = page.fmt.dateKey(request.pageTime, deps.config.libraryTimeZone);
    const from = formatCivilDate(addDays(parseCivilDate(today), -DAYS_SHOWN));
    const { fromMs, toMs } = localDaysToInstants(from, today, deps.config.libraryTimeZone);
    const entries = await deps.staffRecord.list({
      from: new Date(fromMs),
      to: new Date(toMs),
      actor: actor || undefined,
      action,
      limit: 500,
    });
    return reply.view('admin/record', {
      ...page,
      title: page.t('admin.record.title'),
      actor,
      action: action ?? '',
      actions: STAFF_ACTIONS,
      days: DAYS_SHOWN,
      entries: entries.map((entry) => ({
        ...entry,
        when: page.fmt.full(Date.parse(entry.at)),
        change: [entry.before, entry.after]
          .map((value) => (value === null ? '' : JSON.stringify(value)))
          .filter(Boolean)
          .join(' → '),
      })),
    });
  });
}
