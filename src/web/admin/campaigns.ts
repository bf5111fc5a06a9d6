import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import { CohortRefused } from '../../modules/campaigns/cohort.js';
import { composeInvitation, senderName } from '../../modules/campaigns/message.js';
import type { Campaign, CampaignDesign } from '../../modules/campaigns/schemas.js';
import { OUTCOMES } from '../../modules/campaigns/schemas.js';
import { UUID } from '../layout/forms.js';
import { knownValue, type PageContext, type PageError, pageUser } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import { sameToken } from '../session.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

/** The arms the design form offers: A always, B when named. */
const ARM_KEYS = ['A', 'B'] as const;
const LOCAL_MINUTE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

/** A design as the form shows it: local times in the library's zone, numbers as text. */
function formOf(campaign: Campaign | null, zone: string, now: number): Form {
  const local = (iso: string) => DateTime.fromISO(iso, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");
  if (!campaign) {
    const start = DateTime.fromMillis(now, { zone }).plus({ days: 1 }).set({ hour: 9, minute: 0 });
    return {
      primaryOutcome: 'booked',
      holdoutPercent: '20',
      percent_A: '40',
      percent_B: '40',
      outcomeDays: '28',
      sendFrom: start.toFormat("yyyy-MM-dd'T'HH:mm"),
      sendUntil: start.set({ hour: 17 }).toFormat("yyyy-MM-dd'T'HH:mm"),
    };
  }
  const form: Form = {
    name: campaign.name,
    hypothesis: campaign.hypothesis,
    primaryOutcome: campaign.primaryOutcome,
    holdoutPercent: String(campaign.holdoutPercent),
    stratifyBy: campaign.stratifyBy ?? '',
    seed: campaign.seed,
    sendFrom: local(campaign.sendFrom),
    sendUntil: local(campaign.sendUntil),
    outcomeDays: String(campaign.outcomeDays),
  };
  for (const arm of campaign.arms) {
    form[`name_${arm.key}`] = arm.name;
    form[`percent_${arm.key}`] = String(arm.percent);
    form[`subject_${arm.key}`] = arm.subject;
    form[`body_${arm.key}`] = arm.body;
    form[`friend_${arm.key}`] = arm.friendParagraph;
  }
  return form;
}

/** The design the form describes, or the fields it gets wrong (each named, in the catalogue's words). */
function designOf(form: Form, page: PageContext, zone: string): { design?: CampaignDesign; errors: PageError[] } {
  const errors: PageError[] = [];
  const text = (name: string, max: number, required = true) => {
    const value = (form[name] ?? '').trim();
    if ((required && !value) || value.length > max) {
      errors.push({ field: name, message: page.t('admin.campaigns.fieldRequired', { max }) });
    }
    return value;
  };
  const whole = (name: string, min: number, max: number) => {
    const value = Number(form[name] ?? '');
    if (!Number.isInteger(value) || value < min || value > max) {
      errors.push({ field: name, message: page.t('admin.campaigns.numberRange', { min, max }) });
    }
    return value;
  };
  const instant = (name: string) => {
    const value = form[name] ?? '';
    const parsed = LOCAL_MINUTE.test(value) ? DateTime.fromISO(value, { zone }) : null;
    if (!parsed?.isValid) {
      errors.push({ field: name, message: page.t('admin.campaigns.timeInvalid') });
      return '';
    }
    return parsed.toUTC().toISO({ suppressMilliseconds: true }) as string;
  };
  const name = text('name', 200);
  const hypothesis = text('hypothesis', 1000);
  const primaryOutcome = OUTCOMES.find((outcome) => outcome === form.primaryOutcome);
  if (!primaryOutcome)
    errors.push({ field: 'primaryOutcome_booked', message: page.t('admin.campaigns.outcomeRequired') });
  const arms = ARM_KEYS.filter((key) => key === 'A' || (form[`name_${key}`] ?? '').trim() !== '').map((key) => ({
    key,
    name: text(`name_${key}`, 100),
    percent: whole(`percent_${key}`, 1, 100),
    subject: text(`subject_${key}`, 200),
    body: text(`body_${key}`, 10_000),
    friendParagraph: text(`friend_${key}`, 2000, false),
  }));
  const holdoutPercent = whole('holdoutPercent', 0, 90);
  const outcomeDays = whole('outcomeDays', 7, 180);
  const sendFrom = instant('sendFrom');
  const sendUntil = instant('sendUntil');
  const seed = (form.seed ?? '').trim();
  if (seed && !/^[A-Za-z0-9_-]{8,64}$/.test(seed)) {
    errors.push({ field: 'seed', message: page.t('admin.campaigns.seedInvalid') });
  }
  if (errors.length > 0 || !primaryOutcome) return { errors };
  return {
    errors,
    design: {
      name,
      hypothesis,
      primaryOutcome,
      arms,
      holdoutPercent,
      stratifyBy: form.stratifyBy || null,
      ...(seed ? { seed } : {}),
      sendFrom,
      sendUntil,
      outcomeDays,
    },
  };
}

/** A service's refusal of a design, on the field it names. */
function designRefusal(page: PageContext, error: DomainError): PageError[] {
  const pointers = (error.extra.errors ?? []) as { pointer: string; message: string }[];
  if (pointers.length === 0) return [{ field: 'name', message: refusalText(page, error) }];
  return pointers.map((entry) => {
    const [, first, index, field] = entry.pointer.split('/');
    const armKey = first === 'arms' ? ARM_KEYS[Number(index)] : undefined;
    return {
      field: armKey ? `${field === 'key' ? 'name' : field}_${armKey}` : (first ?? 'name'),
      message: page.t('admin.campaigns.refused', { reason: entry.message }),
    };
  });
}

/** Campaigns, for admins: design, cohort, preview and send; the results are on the analytics pages. */
export async function campaignsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);
  const zone = deps.config.libraryTimeZone;

  async function dimensions() {
    return deps.categories.listDimensions();
  }

  async function renderList(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    return reply.code(status).view('admin/campaigns', {
      ...page,
      title: page.t('admin.campaigns.title'),
      campaigns: await deps.campaigns.list(),
      form,
      errors,
      outcomes: OUTCOMES,
      dimensions: await dimensions(),
      armKeys: ARM_KEYS,
      action: '/admin/campaigns',
      zoneName: zone,
    });
  }

  /** The notices a campaign's page shows after a change redirected to it (?notice=…). */
  const CAMPAIGN_NOTICES = ['created', 'saved', 'cohort', 'sent'] as const;

  async function renderCampaign(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    options: { form?: Form; errors?: PageError[]; lineErrors?: string[]; status?: number; notice?: string } = {},
  ) {
    const page = context(request);
    const campaign = await deps.campaigns.get(id);
    const library = senderName(deps.config.mailFrom) ?? page.t('email.campaign.library');
    const previews = campaign.arms.map((arm) => ({
      key: arm.key,
      name: arm.name,
      ...composeInvitation(page.t, arm, {
        firstName: page.t('admin.campaigns.previewName'),
        library,
        bookingLink: `${deps.config.publicUrl}/invitation/…`,
        stopLink: `${deps.config.publicUrl}/invitations/stop/…`,
      }),
    }));
    return reply.code(options.status ?? 200).view('admin/campaign', {
      ...page,
      title: campaign.name,
      campaign,
      form: options.form ?? formOf(campaign, zone, deps.clock.now().getTime()),
      errors: options.errors ?? [],
      lineErrors: options.lineErrors ?? [],
      // Only a notice this page redirects with: a key is never built from what a visitor typed.
      notice: options.notice ?? knownValue((request.query as Form | undefined)?.notice, CAMPAIGN_NOTICES) ?? '',
      outcomes: OUTCOMES,
      dimensions: await dimensions(),
      armKeys: ARM_KEYS,
      action: `/admin/campaigns/${id}`,
      previews,
      zoneName: zone,
      when: (iso: string | null) => (iso ? page.fmt.full(Date.parse(iso)) : ''),
    });
  }

  app.get('/admin/campaigns', { config: { page: true } }, async (request, reply) =>
    renderList(request, reply, formOf(null, zone, deps.clock.now().getTime()), []),
  );

  app.post('/admin/campaigns', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const page = context(request);
    const form = request.body ?? {};
    const { design, errors } = designOf(form, page, zone);
    if (!design) return renderList(request, reply, form, errors, 400);
    try {
      const created = await deps.campaigns.create(design, pageUser(request));
      return reply.redirect(`/admin/campaigns/${created.id}?notice=created`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderList(request, reply, form, designRefusal(page, error), error.status);
    }
  });

  app.get(
    '/admin/campaigns/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      return renderCampaign(request, reply, request.params.id);
    },
  );

  app.post(
    '/admin/campaigns/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      const form = request.body ?? {};
      const { design, errors } = designOf(form, page, zone);
      if (!design) return renderCampaign(request, reply, request.params.id, { form, errors, status: 400 });
      try {
        await deps.campaigns.update(request.params.id, design, pageUser(request));
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return renderCampaign(request, reply, request.params.id, {
          form,
          errors: designRefusal(page, error),
          status: error.status,
        });
      }
      return reply.redirect(`/admin/campaigns/${request.params.id}?notice=saved`, 303);
    },
  );

  // The cohort as a file: multipart, so the CSRF token is checked here.
  app.post(
    '/admin/campaigns/:id/cohort',
    { config: { page: true, csrfInHandler: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      let csv = '';
      let token = '';
      for await (const part of request.parts()) {
        if (part.type === 'file') csv = (await part.toBuffer()).toString('utf8');
        else if (part.fieldname === '_csrf') token = String(part.value);
      }
      if (!request.session || !sameToken(request.session.csrfToken, token)) {
        return renderCampaign(request, reply, request.params.id, {
          errors: [{ field: 'file', message: page.t('error.csrf') }],
          status: 403,
        });
      }
      if (!csv.trim()) {
        return renderCampaign(request, reply, request.params.id, {
          errors: [{ field: 'file', message: page.t('admin.campaigns.fileRequired') }],
          status: 400,
        });
      }
      try {
        await deps.campaigns.setCohort(request.params.id, { csv }, pageUser(request));
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return renderCampaign(request, reply, request.params.id, {
          errors: [{ field: 'file', message: refusalText(page, error) }],
          lineErrors:
            error instanceof CohortRefused
              ? error.lines
                  .slice(0, 100)
                  .map((line) => page.t('admin.campaigns.line', { line: line.line, message: line.message }))
              : [],
          status: error.status,
        });
      }
      return reply.redirect(`/admin/campaigns/${request.params.id}?notice=cohort`, 303);
    },
  );

  app.post(
    '/admin/campaigns/:id/cohort-students',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const form = request.body ?? {};
      const categories: Record<string, string[]> = {};
      for (const dimension of await dimensions()) {
        const value = form[`only_${dimension.key}`];
        if (value && dimension.values.some((option) => option.value === value)) categories[dimension.key] = [value];
      }
      await deps.campaigns.setCohort(request.params.id, { fromStudents: { categories } }, pageUser(request));
      return reply.redirect(`/admin/campaigns/${request.params.id}?notice=cohort`, 303);
    },
  );

  app.post(
    '/admin/campaigns/:id/send',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const page = context(request);
      if (request.body?.confirm !== 'yes') {
        return renderCampaign(request, reply, request.params.id, {
          errors: [{ field: 'confirm', message: page.t('admin.campaigns.confirmRequired') }],
          status: 400,
        });
      }
      try {
        await deps.campaigns.send(request.params.id, pageUser(request));
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return renderCampaign(request, reply, request.params.id, {
          errors: [{ field: 'confirm', message: refusalText(page, error) }],
          status: error.status,
        });
      }
      return reply.redirect(`/admin/campaigns/${request.params.id}?notice=sent`, 303);
    },
  );
}
