import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { COMPANION_ROLES, type CompanionRole } from '../../modules/bookings/roles.js';
import type { CompanionInput } from '../../modules/bookings/schemas.js';
import type { Dimension } from '../../modules/categories/schemas.js';
import type { Librarian } from '../../modules/librarians/schemas.js';
import { LANGUAGES, type Language, ownName } from '../../text/languages.js';
import { INVITATION_COOKIE } from '../campaigns/routes.js';
import { EMAIL, INSTANT, UUID } from '../layout/forms.js';
import { knownValue, type PageContext, type PageError, requireSignIn } from '../layout/page.js';
import { formFields } from '../layout/zone-routes.js';
import type { WebSession } from '../session.js';
import { readCookies } from '../session.js';
import { DAY, type Form, isoDate, type Reply, type SlotDay, type StudentPageDeps, studentPages } from './shared.js';

/** Booking: the form, then "Check your booking", then confirm. */
/** A companion as typed on the booking form, with the fields an error about them points to. */
interface TypedCompanion {
  name: string;
  email: string;
  role: CompanionRole;
  language: Language | null;
  nameField: string;
  emailField: string;
}

export async function bookingRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { context, slotDays, poolQuery, poolSlotDays, ruleMessage, forbidden, allowance } = studentPages(deps);

  // 3. Book: the form, then "Check your booking", then confirm.
  interface BookingDraft {
    librarian: Librarian;
    /** Booked as any librarian of this pool ("subject:Law", "team:<id>"): who is assigned at Confirm. */
    pool: string | null;
    start: string;
    startMs: number;
    endMs: number;
    modes: string[];
    location: string | null;
  }

  async function draftFor(
    page: PageContext,
    librarianId: string | undefined,
    start: string | undefined,
    pool?: string | undefined,
  ): Promise<(BookingDraft & { available: boolean }) | null> {
    if (!start || !INSTANT.test(start)) return null;
    if (pool) return poolDraftFor(page, pool, start);
    if (!librarianId || !UUID.test(librarianId)) return null;
    const librarian = await deps.librarians.get(null, librarianId);
    const startMs = Date.parse(start);
    const days = await slotDays(page, librarianId, isoDate(startMs, page.timeZone), 1);
    const slot = days.flatMap((day) => day.slots).find((candidate) => candidate.startMs === startMs);
    return {
      librarian,
      pool: null,
      start: new Date(startMs).toISOString(),
      startMs,
      endMs: startMs + librarian.slotMinutes * 60_000,
      modes: slot?.modes ?? librarian.modes,
      location: slot?.location ?? librarian.location,
      available: Boolean(slot),
    };
  }

  /**
   * A draft with any librarian of a pool: as the librarians free at that start offer it together
   * (every mode, the most friends any takes), under the pool's name; the librarian is assigned
   * when the student confirms.
   */
  async function poolDraftFor(page: PageContext, pool: string, start: string) {
    const query = poolQuery(pool);
    if (!query) return null;
    let resolved: Awaited<ReturnType<typeof deps.pools.resolve>>;
    try {
      resolved = await deps.pools.resolve(query);
    } catch (error) {
      if (error instanceof DomainError && error.status === 404) return null;
      throw error;
    }
    const startMs = Date.parse(start);
    const free: { librarian: Librarian; slot: SlotDay['slots'][number] }[] = [];
    for (const librarianId of resolved.librarianIds) {
      const days = await slotDays(page, librarianId, isoDate(startMs, page.timeZone), 1);
      const slot = days.flatMap((day) => day.slots).find((candidate) => candidate.startMs === startMs);
      if (slot) free.push({ librarian: await deps.librarians.get(null, librarianId), slot });
    }
    const anyone =
      free[0]?.librarian ??
      (resolved.librarianIds[0] ? await deps.librarians.get(null, resolved.librarianIds[0]) : null);
    if (!anyone) return null;
    const modes = ['in_person', 'online'].filter((mode) => free.some(({ slot }) => slot.modes.includes(mode)));
    const places = [
      ...new Set(free.map(({ slot }) => slot.location).filter((place): place is string => Boolean(place))),
    ];
    return {
      librarian: {
        ...anyone,
        name: page.t('pool.any', { name: resolved.name }),
        maxCompanions: Math.max(0, ...free.map(({ librarian }) => librarian.maxCompanions)),
      },
      pool,
      start: new Date(startMs).toISOString(),
      startMs,
      endMs: startMs + (free[0]?.librarian.slotMinutes ?? anyone.slotMinutes) * 60_000,
      modes: modes.length > 0 ? modes : anyone.modes,
      location: places.length === 1 ? (places[0] as string) : null,
      available: free.length > 0,
    };
  }

  async function dimensionsToAsk(request: FastifyRequest): Promise<Dimension[]> {
    const user = request.session?.user;
    if (!user) return [];
    const answered = await deps.categories.hasAnsweredCategories(user);
    return answered ? [] : deps.categories.listDimensions();
  }

  /**
   * The companions typed on the form, keeping empty rows out: the friends (friendName0,
   * friendEmail0, friendRole0, friendLanguage0, …) and a support worker or interpreter
   * (supportName, …), who comes whatever the limit on friends. Each names its fields, for errors.
   */
  function friendsOf(form: Form, max: number): TypedCompanion[] {
    const typed = (suffix: string, prefix: string, role: CompanionRole | null): TypedCompanion => ({
      name: (form[`${prefix}Name${suffix}`] ?? '').trim(),
      email: (form[`${prefix}Email${suffix}`] ?? '').trim(),
      role: role ?? knownValue(form[`${prefix}Role${suffix}`], COMPANION_ROLES) ?? 'friend',
      // The language of their emails, as the student chose it (the form offers the page's first).
      language: knownValue(form[`${prefix}Language${suffix}`], LANGUAGES),
      nameField: `${prefix}Name${suffix}`,
      emailField: `${prefix}Email${suffix}`,
    });
    return [
      ...Array.from({ length: Math.max(max, 0) }, (_, index) => typed(String(index), 'friend', null)),
      typed('', 'support', 'support'),
    ].filter((friend) => friend.name || friend.email);
  }

  function checkForm(page: PageContext, draft: BookingDraft, form: Form, dimensions: Dimension[]): PageError[] {
    const errors: PageError[] = [];
    if ((form.topic ?? '').length > 2000) errors.push({ field: 'topic', message: page.t('book.topic.tooLong') });
    if (draft.modes.length > 1 && !draft.modes.includes(form.mode ?? '')) {
      errors.push({ field: `mode-${draft.modes[0]}`, message: page.t('book.mode.required') });
    }
    for (const friend of friendsOf(form, draft.librarian.maxCompanions)) {
      if (!friend.name) errors.push({ field: friend.nameField, message: page.t('book.friend.nameRequired') });
      else if (friend.name.length > 200) {
        errors.push({ field: friend.nameField, message: page.t('book.friend.nameTooLong') });
      }
      if (friend.email && !EMAIL.test(friend.email)) {
        errors.push({ field: friend.emailField, message: page.t('book.friend.emailInvalid') });
      }
    }
    for (const dimension of dimensions) {
      const value = form[`category_${dimension.key}`];
      const known = value === '' || dimension.values.some((option) => option.value === value);
      if (value === undefined || !known) {
        errors.push({
          field: `category_${dimension.key}-${dimension.values[0]?.value ?? 'none'}`,
          message: page.t('book.categories.required', { label: dimension.label }),
        });
      }
    }
    return errors;
  }

  async function renderForm(
    request: FastifyRequest,
    reply: Reply,
    draft: BookingDraft,
    options: { form?: Form; errors?: PageError[]; taken?: boolean; status?: number } = {},
  ) {
    const page = context(request);
    const dimensions = await dimensionsToAsk(request);
    const pool = poolQuery(draft.pool ?? undefined);
    const nearby = options.taken
      ? (pool
          ? (await poolSlotDays(page, pool, isoDate(draft.startMs - DAY, page.timeZone), 7)).days
          : await slotDays(page, draft.librarian.id, isoDate(draft.startMs - DAY, page.timeZone), 7)
        )
          .flatMap((day) => day.slots)
          .sort((a, b) => Math.abs(a.startMs - draft.startMs) - Math.abs(b.startMs - draft.startMs))
          .slice(0, 5)
          .sort((a, b) => a.startMs - b.startMs)
      : [];
    return reply.code(options.status ?? 200).view('student/book', {
      ...page,
      title: page.t('book.title'),
      draft,
      when: page.fmt.span(draft.startMs, draft.endMs),
      libraryWhen:
        draft.librarian.timeZone !== page.timeZone
          ? page.fmt.span(draft.startMs, draft.endMs, draft.librarian.timeZone)
          : null,
      dimensions,
      form: options.form ?? {},
      errors: options.errors ?? [],
      taken: options.taken ?? false,
      nearby,
      friendSlots: Array.from({ length: draft.librarian.maxCompanions }, (_, index) => index),
      companionRoles: COMPANION_ROLES,
      friendLanguages: LANGUAGES.map((tag) => ({ tag, name: ownName(tag) })),
      limit: await allowance(request),
    });
  }

  app.get('/book', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    if (!requireSignIn(request, reply)) return reply;
    const page = context(request);
    const draft = await draftFor(page, request.query.librarian, request.query.start, request.query.pool);
    if (!draft) {
      return reply.code(400).view('layout/message', {
        ...page,
        title: page.t('book.chooseFirst.title'),
        message: page.t('book.chooseFirst.body'),
        link: { href: '/', text: page.t('home.title') },
      });
    }
    return renderForm(request, reply, draft, { taken: !draft.available, form: { mode: draft.modes[0] } });
  });

  // A zone change on "Check your booking" (or the form with its errors) draws the same page again.
  const redrawCheck = (request: FastifyRequest) => ({ next: '/book/check', fields: formFields(request.body) });
  // After a refused Confirm it draws the form with the answers (never sends Confirm again).
  const redrawForm = (request: FastifyRequest) => ({
    next: '/book/check',
    fields: { ...formFields(request.body, ['idempotencyKey']), edit: '1' },
  });

  app.post(
    '/book/check',
    { config: { page: true, zoneReturn: redrawCheck } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      if (!requireSignIn(request, reply)) return reply;
      const page = context(request);
      const form = request.body ?? {};
      const draft = await draftFor(page, form.librarian, form.start ?? form.wanted, form.pool);
      if (!draft) return reply.redirect('/', 303);
      if (!form.start) {
        return renderForm(request, reply, draft, {
          form,
          taken: true,
          status: 400,
          errors: [{ field: 'start', message: page.t('reschedule.chooseTime') }],
        });
      }
      if (!draft.available) return renderForm(request, reply, draft, { form, taken: true, status: 409 });
      if (form.edit === '1') return renderForm(request, reply, draft, { form });
      const dimensions = await dimensionsToAsk(request);
      const errors = checkForm(page, draft, form, dimensions);
      if (errors.length > 0) return renderForm(request, reply, draft, { form, errors, status: 400 });
      // The answers wait in the session and "Check your booking" is a GET: Back after Confirm sends nothing again.
      const { edit: _edit, ...answers } = formFields(form);
      await deps.sessions.setBookingDraft(request.session as WebSession, {
        ...answers,
        idempotencyKey: randomBytes(16).toString('hex'),
      });
      return reply.redirect('/book/check', 303);
    },
  );

  app.get('/book/check', { config: { page: true } }, async (request, reply) => {
    if (!requireSignIn(request, reply)) return reply;
    const stored = request.session?.bookingDraft;
    // Nothing to check: the booking was made (Back after Confirm), or none was begun.
    if (!stored) return reply.redirect('/bookings', 303);
    const { idempotencyKey, ...form } = stored;
    const page = context(request);
    const draft = await draftFor(page, form.librarian, form.start, form.pool);
    if (!draft) return reply.redirect('/', 303);
    if (!draft.available) return renderForm(request, reply, draft, { form, taken: true, status: 409 });
    const dimensions = await dimensionsToAsk(request);
    const errors = checkForm(page, draft, form, dimensions);
    if (errors.length > 0) return renderForm(request, reply, draft, { form, errors, status: 400 });
    return reply.view('student/check', {
      ...page,
      title: page.t('check.title'),
      draft,
      when: page.fmt.span(draft.startMs, draft.endMs),
      mode: draft.modes.length > 1 ? form.mode : draft.modes[0],
      form,
      friends: friendsOf(form, draft.librarian.maxCompanions),
      categories: dimensions.map((dimension) => ({
        key: dimension.key,
        label: dimension.label,
        value: form[`category_${dimension.key}`] ?? '',
        valueLabel:
          dimension.values.find((option) => option.value === form[`category_${dimension.key}`])?.label ??
          page.t('book.categories.preferNot'),
      })),
      idempotencyKey,
    });
  });

  app.post(
    '/book/confirm',
    { config: { page: true, zoneReturn: redrawForm } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const user = requireSignIn(request, reply, ['student']);
      if (!user) return request.session?.user ? reply.code(403).view('layout/message', forbidden(request)) : reply;
      const page = context(request);
      const form = request.body ?? {};
      const draft = await draftFor(page, form.librarian, form.start, form.pool);
      if (!draft) return reply.redirect('/', 303);
      const dimensions = await dimensionsToAsk(request);
      const errors = checkForm(page, draft, form, dimensions);
      if (errors.length > 0) return renderForm(request, reply, draft, { form, errors, status: 400 });
      if (dimensions.length > 0) {
        const chosen = Object.fromEntries(
          dimensions.flatMap((dimension) => {
            const value = form[`category_${dimension.key}`];
            return value ? [[dimension.key, value]] : [];
          }),
        );
        await deps.categories.answerCategories(user, chosen);
      }
      const friends: CompanionInput[] = friendsOf(form, draft.librarian.maxCompanions).map((friend) => ({
        name: friend.name,
        ...(friend.email ? { email: friend.email } : {}),
        role: friend.role,
        ...(friend.language ? { language: friend.language } : {}),
      }));
      // The optional "How do you feel about this session?" of the check page: 1 to 5, or nothing.
      const nervesBefore = knownValue(form.nervesBefore, ['1', '2', '3', '4', '5']);
      try {
        const details = {
          start: draft.start,
          ...(form.mode === 'in_person' || form.mode === 'online' ? { mode: form.mode as 'in_person' | 'online' } : {}),
          ...(form.topic?.trim() ? { topic: form.topic.trim() } : {}),
          ...(friends.length > 0 ? { companions: friends } : {}),
          ...(form.cameAsFriend === 'yes' ? { cameAsFriendBefore: true } : {}),
          ...(nervesBefore ? { nervesBefore: Number(nervesBefore) } : {}),
          timeZone: page.timeZone,
        };
        const key =
          form.idempotencyKey && /^[0-9a-f]{32}$/.test(form.idempotencyKey)
            ? { idempotencyKey: `web:${form.idempotencyKey}` }
            : {};
        const pool = poolQuery(draft.pool ?? undefined);
        // Any librarian of a pool: the one free with the fewest sessions is assigned now.
        const { booking } = pool
          ? await deps.pools.book(user, { ...pool, ...details }, key)
          : await deps.bookings.create(user, { librarianId: draft.librarian.id, ...details }, key);
        if (request.session) await deps.sessions.setBookingDraft(request.session, null);
        // Came through a campaign's invitation: this student's bookings count as its member's.
        const invitation = readCookies(request.headers.cookie)[INVITATION_COOKIE];
        const member = invitation ? await deps.campaigns.memberOfLink(invitation) : null;
        if (member && booking.student) {
          // The booking stands whatever happens here: a lost attribution is logged, not shown.
          await deps.campaigns
            .attribute(member, booking.student.id)
            .catch((error: unknown) => request.log.warn({ err: error }, 'campaign attribution not saved'));
        }
        // Booked in this page's language: the student's emails go in it too.
        await deps.categories.rememberLanguage(user, page.lang);
        return reply.redirect(`/bookings/${booking.id}?booked=1`, 303);
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        if (error.code === 'slot_unavailable' || error.code === 'outside_availability') {
          return renderForm(request, reply, draft, { form, taken: true, status: 409 });
        }
        return renderForm(request, reply, draft, {
          form,
          status: error.status,
          errors: [{ field: 'submit', message: ruleMessage(page, error) }],
        });
      }
    },
  );
}
