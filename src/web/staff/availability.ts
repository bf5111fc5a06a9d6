import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import { isMeetingUrl } from '../../http/meeting-url.js';
import { clockTime, readDateRange, TIME, UUID } from '../layout/forms.js';
import { areaAccess, type PageContext, type PageError, pageContext, pageLibrarian } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import type { Form, StaffPageDeps } from './shared.js';

export const SETTINGS = ['slotMinutes', 'bufferMinutes', 'minNoticeMinutes', 'horizonDays', 'maxCompanions'] as const;
const SETTING_LIMITS: Record<(typeof SETTINGS)[number], [number, number]> = {
  slotMinutes: [5, 480],
  bufferMinutes: [0, 240],
  minNoticeMinutes: [0, 43200],
  horizonDays: [1, 730],
  maxCompanions: [0, 5],
};
const BLANK_ROWS = 3;

/** Weekly rows a form may carry: the API's limit on weekly rules, plus the blank rows the editor adds. */
const MAX_FORM_ROWS = 100 + BLANK_ROWS;

/** How many weekly rows the posted form has: a whole number within MAX_FORM_ROWS, else none. */
function formRows(form: Form): number {
  const rows = form.rows ?? '';
  return /^\d{1,4}$/.test(rows) ? Math.min(Number(rows), MAX_FORM_ROWS) : 0;
}

/** The librarian's availability editor and time off, as forms (no dragging needed). */
export async function staffAvailabilityRoutes(app: FastifyInstance, deps: StaffPageDeps) {
  areaAccess(app, deps, 'librarian');
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  async function preview(page: PageContext, librarianId: string) {
    const from = DateTime.fromMillis(clock.now().getTime(), { zone: page.timeZone });
    const list = await deps.availability.listSlots(librarianId, {
      from: from.toISODate() as string,
      to: from.plus({ days: 13 }).toISODate() as string,
      tz: page.timeZone,
    });
    const days = new Map<string, { heading: string; times: string[] }>();
    for (const slot of list.slots) {
      const startMs = Date.parse(slot.start);
      const key = page.fmt.dateKey(startMs);
      const day = days.get(key) ?? { heading: page.fmt.day(startMs), times: [] };
      day.times.push(page.fmt.time(startMs));
      days.set(key, day);
    }
    return [...days.values()];
  }

  async function renderEditor(
    request: FastifyRequest,
    reply: FastifyReply,
    librarianId: string,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const current = await deps.availability.get(librarianId);
    const librarian = await deps.librarians.get(request.session?.user ?? null, librarianId);
    const values: Form = form ?? {
      timeZone: current.timeZone,
      ...Object.fromEntries(SETTINGS.map((key) => [key, String(current[key])])),
      location: librarian.location ?? '',
      meetingUrl: librarian.meetingUrl ?? '',
      ...Object.fromEntries(
        current.weekly.flatMap((rule, index) => [
          [`weekday_${index}`, String(rule.weekday)],
          [`start_${index}`, rule.start],
          [`end_${index}`, rule.end],
          [`mode_${index}`, rule.mode ?? ''],
        ]),
      ),
    };
    const rowCount = form ? formRows(form) : current.weekly.length + BLANK_ROWS;
    return reply.code(status).view('staff/availability', {
      ...page,
      title: page.t('staff.availability.title'),
      values,
      rows: Array.from({ length: rowCount }, (_, index) => index),
      errors,
      preview: await preview(page, librarianId),
      weekdays: [1, 2, 3, 4, 5, 6, 7],
      saved: (request.query as Form | undefined)?.saved === '1',
    });
  }

  app.get('/staff/availability', { config: { page: true } }, async (request, reply) => {
    const user = pageLibrarian(request);
    return renderEditor(request, reply, user.librarianId, null, []);
  });

  app.post(
    '/staff/availability',
    { config: { page: true } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const user = pageLibrarian(request);
      const page = context(request);
      const form = request.body ?? {};
      const errors: PageError[] = [];
      const settings: Partial<Record<(typeof SETTINGS)[number], number>> = {};
      for (const key of SETTINGS) {
        const value = Number(form[key]);
        const [min, max] = SETTING_LIMITS[key];
        if (!/^\d+$/.test(form[key] ?? '') || value < min || value > max) {
          errors.push({ field: key, message: page.t(`staff.availability.${key}.invalid`, { min, max }) });
        } else settings[key] = value;
      }
      const weekly: { weekday: number; start: string; end: string; mode?: 'in_person' | 'online' }[] = [];
      const rows = formRows(form);
      // A form that lost its row count (or says none) would save an empty week: refused instead.
      if (rows === 0 && !/^0$/.test(form.rows ?? ''))
        errors.push({ field: 'weekday_0', message: page.t('staff.availability.formBroken') });
      for (let index = 0; index < rows; index++) {
        const typedStart = (form[`start_${index}`] ?? '').trim();
        const typedEnd = (form[`end_${index}`] ?? '').trim();
        if (form[`remove_${index}`] === 'yes' || (!typedStart && !typedEnd)) continue;
        const weekday = Number(form[`weekday_${index}`]);
        if (!(Number.isInteger(weekday) && weekday >= 1 && weekday <= 7))
          errors.push({ field: `weekday_${index}`, message: page.t('staff.availability.formBroken') });
        // Each error names the window as its legend does, with its day: "Window 2 (Tuesday)".
        const window = page.t('staff.availability.windowDay', {
          number: index + 1,
          day: page.t(`weekday.${weekday >= 1 && weekday <= 7 ? weekday : 1}`),
        });
        const start = clockTime(typedStart) ?? typedStart;
        const end = clockTime(typedEnd) ?? typedEnd;
        if (!TIME.test(start))
          errors.push({ field: `start_${index}`, message: page.t('staff.availability.startInvalid', { window }) });
        if (!TIME.test(end))
          errors.push({ field: `end_${index}`, message: page.t('staff.availability.endInvalid', { window }) });
        else if (TIME.test(start) && end <= start) {
          errors.push({
            field: `end_${index}`,
            message: page.t('staff.availability.windowEndBeforeStart', { window }),
          });
        }
        const mode = form[`mode_${index}`];
        weekly.push({
          weekday: weekday >= 1 && weekday <= 7 ? weekday : 1,
          start,
          end,
          ...(mode === 'in_person' || mode === 'online' ? { mode } : {}),
        });
      }
      const meetingUrl = form.meetingUrl?.trim() || null;
      if (meetingUrl !== null && !isMeetingUrl(meetingUrl)) {
        errors.push({ field: 'meetingUrl', message: page.t('staff.availability.meetingUrlInvalid') });
      }
      const location = form.location?.trim() || null;
      if (location !== null && location.length > 500) {
        errors.push({ field: 'location', message: page.t('staff.availability.locationTooLong') });
      }
      if (typeof form.timeZone === 'string' && form.timeZone.length > 64) {
        errors.push({ field: 'timeZone', message: page.t('staff.availability.timeZoneInvalid') });
      }
      if (errors.length > 0) return renderEditor(request, reply, user.librarianId, form, errors, 400);
      try {
        await deps.availability.put(
          user.librarianId,
          {
            ...settings,
            ...(form.timeZone ? { timeZone: form.timeZone } : {}),
            weekly,
          },
          user,
        );
        await deps.librarians.update(user.librarianId, { location, meetingUrl }, user);
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        const pointer = error.extra.errors?.[0]?.pointer ?? '/timeZone';
        const field = pointer.slice(1).replaceAll('/', '_');
        const message =
          pointer === '/timeZone'
            ? page.t('staff.availability.timeZoneInvalid')
            : /^\/weekly\/\d+\/end$/.test(pointer)
              ? page.t('staff.availability.endBeforeStart')
              : refusalText(page, error);
        return renderEditor(request, reply, user.librarianId, form, [{ field, message }], error.status);
      }
      return reply.redirect('/staff/availability?saved=1', 303);
    },
  );

  async function renderTimeOff(
    request: FastifyRequest,
    reply: FastifyReply,
    librarianId: string,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const today = DateTime.fromMillis(clock.now().getTime(), { zone: page.timeZone }).toISODate() as string;
    const overrides = await deps.availability.listOverrides(librarianId, { from: today });
    return reply.code(status).view('staff/time-off', {
      ...page,
      title: page.t('staff.timeOff.title'),
      own: overrides.filter((override) => override.librarianId !== null),
      closures: overrides.filter((override) => override.librarianId === null),
      form,
      errors,
      today,
    });
  }

  app.get('/staff/time-off', { config: { page: true } }, async (request, reply) => {
    const user = pageLibrarian(request);
    return renderTimeOff(request, reply, user.librarianId, { kind: 'closed' }, []);
  });

  app.post('/staff/time-off', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = pageLibrarian(request);
    const page = context(request);
    const form = request.body ?? {};
    const { to, errors } = readDateRange(page, form);
    const startTime = form.startTime?.trim() ? (clockTime(form.startTime) ?? form.startTime.trim()) : undefined;
    const endTime = form.endTime?.trim() ? (clockTime(form.endTime) ?? form.endTime.trim()) : undefined;
    const hasTimes = Boolean(startTime || endTime);
    if (
      hasTimes &&
      (!TIME.test(startTime ?? '') ||
        !TIME.test(endTime ?? '') ||
        form.from !== to ||
        (endTime ?? '') <= (startTime ?? ''))
    ) {
      errors.push({ field: 'startTime', message: page.t('staff.timeOff.timesInvalid') });
    }
    if ((form.reason ?? '').length > 500)
      errors.push({ field: 'reason', message: page.t('staff.timeOff.reasonTooLong') });
    if (errors.length > 0) return renderTimeOff(request, reply, user.librarianId, form, errors, 400);
    const zone = (await deps.availability.get(user.librarianId)).timeZone;
    const instant = (time: string) =>
      DateTime.fromISO(`${form.from}T${time}`, { zone }).toISO({ suppressMilliseconds: true }) as string;
    await deps.availability.createOverride(
      user.librarianId,
      {
        kind: form.kind === 'open' ? 'open' : 'closed',
        from: hasTimes ? instant(startTime as string) : (form.from as string),
        to: hasTimes ? instant(endTime as string) : (to as string),
        ...(form.reason?.trim() ? { reason: form.reason.trim() } : {}),
      },
      user,
    );
    return reply.redirect('/staff/time-off', 303);
  });

  app.post(
    '/staff/time-off/:overrideId/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { overrideId: string } }>, reply) => {
      const user = pageLibrarian(request);
      if (!UUID.test(request.params.overrideId)) return reply.callNotFound();
      await deps.availability.deleteOverride(user.librarianId, request.params.overrideId, user);
      return reply.redirect('/staff/time-off', 303);
    },
  );
}
