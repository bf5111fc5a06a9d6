import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { ISO_DATE, UUID } from '../layout/forms.js';
import { type Form, type StudentPageDeps, studentPages, WEEKS_SHOWN } from './shared.js';

/** Finding help: the librarians, and the times each offers. */
export async function findingRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { clock } = deps;
  const { context, slotDays, allowance, today, nextAvailable } = studentPages(deps);

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
    return reply.view('student/home', { ...page, title: page.t('home.title'), cards, filter });
  });

  // 2. Choose a time.
  app.get(
    '/librarians/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const page = context(request);
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const librarian = await deps.librarians.get(null, request.params.id);
      const first = today(page);
      const from =
        ISO_DATE.test(request.query.from ?? '') && (request.query.from as string) > first
          ? (request.query.from as string)
          : first;
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
      const later = DateTime.fromISO(from)
        .plus({ days: WEEKS_SHOWN * 7 })
        .toISODate() as string;
      const earlier =
        from > first
          ? DateTime.fromISO(from)
              .minus({ days: WEEKS_SHOWN * 7 })
              .toISODate()
          : null;
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
        earlier: earlier && earlier < first ? first : earlier,
        // No times because the librarian's own calendar has not been read for too long: say so.
        withheld: days.length === 0 && (await deps.calendars.isWithheld(librarian.id)),
      });
    },
  );
}
