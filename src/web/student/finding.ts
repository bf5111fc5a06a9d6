import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { NotFound } from '../../errors.js';
import { ISO_DATE, UUID } from '../layout/forms.js';
import { type Form, type Reply, type StudentPageDeps, studentPages, WEEKS_SHOWN } from './shared.js';

/** How far ahead a pool's page goes: its librarians' horizons differ. */
const POOL_WEEKS_AHEAD = 12;

/** The first day a times page shows: the one asked for (?from=), if a date after today; else today. */
function firstShown(asked: string | undefined, first: string): string {
  return asked !== undefined && ISO_DATE.test(asked) && asked > first ? asked : first;
}

/** The first days of the weeks shown after and before the ones from `from` (never before today). */
function otherWeeks(first: string, from: string): { later: string; earlier: string | null } {
  const later = DateTime.fromISO(from)
    .plus({ days: WEEKS_SHOWN * 7 })
    .toISODate() as string;
  if (from <= first) return { later, earlier: null };
  const earlier = DateTime.fromISO(from)
    .minus({ days: WEEKS_SHOWN * 7 })
    .toISODate() as string;
  return { later, earlier: earlier < first ? first : earlier };
}

/** Finding help: the librarians, and the times each offers. */
export async function findingRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { clock } = deps;
  const { context, slotDays, poolQuery, poolSlotDays, allowance, today, nextAvailable } = studentPages(deps);

  // 1. Find a librarian.
  app.get('/', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const page = context(request);
    const filter = (request.query.q ?? '').trim().slice(0, 100);
    const all = await deps.librarians.list(null, {});
    const matching = filter
      ? all.filter((librarian) =>
          [librarian.name, librarian.faculty ?? '', ...librarian.subjects].some((text) =>
            text.toLowerCase().includes(filter.toLowerCase()),
          ),
        )
      : all;
    const cards = await Promise.all(
      matching.map(async (librarian) => ({ librarian, next: await nextAvailable(page, librarian.id) })),
    );
    const pools = await deps.pools.list();
    return reply.view('student/home', { ...page, title: page.t('home.title'), cards, filter, pools });
  });

  // 2a. Choose a time with any librarian of a subject or a team.
  async function poolPage(request: FastifyRequest<{ Querystring: Form }>, reply: Reply, pool: string) {
    const page = context(request);
    const query = poolQuery(pool);
    if (!query) return reply.callNotFound();
    const first = today(page);
    const from = firstShown(request.query.from, first);
    // The pool's times, and its name, from one read: a pool that does not exist is not found.
    let shown: Awaited<ReturnType<typeof poolSlotDays>>;
    try {
      shown = await poolSlotDays(page, query, from, WEEKS_SHOWN * 7);
    } catch (error) {
      if (error instanceof NotFound) return reply.callNotFound();
      throw error;
    }
    const { days } = shown;
    const { later, earlier } = otherWeeks(first, from);
    const lastOffered = DateTime.fromISO(first)
      .plus({ days: POOL_WEEKS_AHEAD * 7 })
      .toISODate() as string;
    return reply.view('student/pool', {
      ...page,
      title: page.t('pool.title', { name: shown.name }),
      pool,
      path: request.url.split('?')[0],
      days,
      nowMs: clock.now().getTime(),
      later: later <= lastOffered ? later : null,
      earlier,
      limit: await allowance(request),
    });
  }

  app.get(
    '/subjects/:subject',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { subject: string }; Querystring: Form }>, reply) =>
      poolPage(request, reply, `subject:${request.params.subject}`),
  );

  app.get(
    '/teams/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) =>
      poolPage(request, reply, `team:${request.params.id}`),
  );

  // 2. Choose a time.
  app.get(
    '/librarians/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const page = context(request);
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const librarian = await deps.librarians.get(null, request.params.id);
      const first = today(page);
      const from = firstShown(request.query.from, first);
      const last = DateTime.fromISO(from)
        .plus({ days: WEEKS_SHOWN * 7 - 1 })
        .toISODate() as string;
      const [days, availability, overrides, limit] = await Promise.all([
        slotDays(page, librarian.id, from, WEEKS_SHOWN * 7),
        deps.availability.get(librarian.id),
        deps.availability.listOverrides(librarian.id, { from, to: last }),
        allowance(request),
      ]);
      // Times are offered up to the librarian's horizon: no later weeks past it.
      const horizon = DateTime.fromISO(first).plus({ days: availability.horizonDays }).toISODate() as string;
      const { later, earlier } = otherWeeks(first, from);
      return reply.view('student/librarian', {
        ...page,
        title: page.t('librarian.title', { name: librarian.name }),
        librarian,
        days,
        nowMs: clock.now().getTime(),
        later: later <= horizon ? later : null,
        horizon: page.fmt.period(horizon, horizon, true),
        // Library closures in these weeks explain days without times (the librarian's own time off stays theirs).
        closures: overrides.filter((override) => override.librarianId === null && override.kind === 'closed'),
        limit,
        earlier,
        // No times because the librarian's own calendar has not been read for too long: say so.
        withheld: days.length === 0 && (await deps.calendars.isWithheld(librarian.id)),
      });
    },
  );
}
