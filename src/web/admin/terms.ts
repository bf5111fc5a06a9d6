import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { ISO_DATE } from '../layout/forms.js';
import { type PageError, pageUser } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import { type AdminPageDeps, adminContext, BLANK, type Form } from './shared.js';

/** Terms and the cohort sizes that are the denominators of uptake figures. */
export async function termsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  async function renderTerms(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const terms = await deps.terms.listTerms();
    const cohorts = await deps.terms.listCohorts();
    const dimensions = await deps.categories.listDimensions();
    const values: Form =
      form ??
      Object.fromEntries([
        ...terms.flatMap((term, index) => [
          [`name_${index}`, term.name],
          [`startsOn_${index}`, term.startsOn],
          [`endsOn_${index}`, term.endsOn],
        ]),
        ...cohorts.map((cohort) => [
          `size.${terms.findIndex((term) => term.name === cohort.term)}.${cohort.dimension}.${cohort.value}`,
          String(cohort.size),
        ]),
      ]);
    const rows = form ? Number(form.rows ?? 0) : terms.length + BLANK;
    return reply.code(status).view('admin/terms', {
      ...page,
      title: page.t('admin.terms.title'),
      values,
      rows: Array.from({ length: Math.min(rows, 50) }, (_, index) => index),
      terms,
      dimensions,
      errors,
      saved: (request.query as Form | undefined)?.saved === '1',
    });
  }

  app.get('/admin/terms', { config: { page: true } }, async (request, reply) => {
    return renderTerms(request, reply, null, []);
  });

  app.post('/admin/terms', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const terms: { name: string; startsOn: string; endsOn: string }[] = [];
    for (let index = 0; index < Math.min(Number(form.rows ?? 0), 50); index++) {
      const name = (form[`name_${index}`] ?? '').trim();
      const startsOn = (form[`startsOn_${index}`] ?? '').trim();
      const endsOn = (form[`endsOn_${index}`] ?? '').trim();
      if (!name && !startsOn && !endsOn) continue;
      if (!name || name.length > 100)
        errors.push({ field: `name_${index}`, message: page.t('admin.terms.nameRequired') });
      if (!ISO_DATE.test(startsOn))
        errors.push({ field: `startsOn_${index}`, message: page.t('staff.record.dateInvalid') });
      if (!ISO_DATE.test(endsOn) || endsOn < startsOn)
        errors.push({ field: `endsOn_${index}`, message: page.t('staff.timeOff.toInvalid') });
      terms.push({ name, startsOn, endsOn });
    }
    // Cohort fields are size.<term row>.<dimension key>.<value key>: keys never hold a dot.
    const cohorts = Object.entries(form)
      .filter(([name, value]) => name.startsWith('size.') && (value ?? '').trim() !== '')
      .map(([name, value]) => {
        const [, row = '', dimension = '', categoryValue = ''] = name.split('.');
        const term = (form[`name_${row}`] ?? '').trim();
        return { field: name, term, dimension, value: categoryValue, size: Number((value ?? '').trim()) };
      });
    for (const cohort of cohorts) {
      if (!Number.isInteger(cohort.size) || cohort.size < 0 || cohort.size > 10_000_000) {
        errors.push({ field: cohort.field, message: page.t('admin.terms.sizeInvalid') });
      }
    }
    if (errors.length > 0) return renderTerms(request, reply, form, errors, 400);
    try {
      await deps.terms.putTerms(terms, pageUser(request));
      const names = new Set(terms.map((term) => term.name));
      await deps.terms.putCohorts(
        cohorts
          .filter((cohort) => names.has(cohort.term))
          .map(({ term, dimension, value, size }) => ({ term, dimension, value, size })),
        pageUser(request),
      );
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderTerms(request, reply, form, [{ field: 'name_0', message: refusalText(page, error) }], error.status);
    }
    return reply.redirect('/admin/terms?saved=1', 303);
  });
}
