import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { type PageError, pageUser } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import { type AdminPageDeps, adminContext, BLANK, type Form } from './shared.js';

const KEY = /^[a-z][a-z0-9_]{0,39}$/;

/** Student categories: the dimensions and the values each offers. */
export async function categoriesPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  /** "value = Label" per line, as the categories form shows them. */
  function valueLines(values: { value: string; label: string }[]): string {
    return values.map((value) => `${value.value} = ${value.label}`).join('\n');
  }

  async function renderCategories(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form | null,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    const current = await deps.categories.listDimensions();
    const values: Form =
      form ??
      Object.fromEntries(
        current.flatMap((dimension, index) => [
          [`key_${index}`, dimension.key],
          [`label_${index}`, dimension.label],
          [`values_${index}`, valueLines(dimension.values)],
        ]),
      );
    const rows = form ? Number(form.rows ?? 0) : current.length + BLANK;
    return reply.code(status).view('admin/categories', {
      ...page,
      title: page.t('admin.categories.title'),
      values,
      rows: Array.from({ length: Math.min(rows, 20) }, (_, index) => index),
      errors,
      saved: (request.query as Form | undefined)?.saved === '1',
    });
  }

  app.get('/admin/categories', { config: { page: true } }, async (request, reply) => {
    return renderCategories(request, reply, null, []);
  });

  app.post('/admin/categories', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const dimensions: { key: string; label: string; values: { value: string; label: string }[] }[] = [];
    for (let index = 0; index < Math.min(Number(form.rows ?? 0), 20); index++) {
      const key = (form[`key_${index}`] ?? '').trim();
      const label = (form[`label_${index}`] ?? '').trim();
      const lines = (form[`values_${index}`] ?? '')
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      if (form[`remove_${index}`] === 'yes' || (!key && !label && lines.length === 0)) continue;
      if (!KEY.test(key)) errors.push({ field: `key_${index}`, message: page.t('admin.categories.keyInvalid') });
      if (!label || label.length > 100)
        errors.push({ field: `label_${index}`, message: page.t('admin.categories.labelRequired') });
      const values = lines.map((line) => {
        const [value = '', ...rest] = line.split('=');
        return { value: value.trim(), label: rest.join('=').trim() };
      });
      if (
        values.length === 0 ||
        values.some((value) => !KEY.test(value.value) || !value.label || value.label.length > 100)
      ) {
        errors.push({ field: `values_${index}`, message: page.t('admin.categories.valuesInvalid') });
      } else {
        const repeated = values.find((value, at) => values.findIndex((other) => other.value === value.value) !== at);
        if (repeated) {
          errors.push({
            field: `values_${index}`,
            message: page.t('admin.categories.valueTwice', { value: repeated.value }),
          });
        }
      }
      if (KEY.test(key) && dimensions.some((dimension) => dimension.key === key)) {
        errors.push({ field: `key_${index}`, message: page.t('admin.categories.keyTwice', { key }) });
      }
      dimensions.push({ key, label, values });
    }
    if (errors.length > 0) return renderCategories(request, reply, form, errors, 400);
    try {
      await deps.categories.replaceDimensions(dimensions, pageUser(request));
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return renderCategories(
        request,
        reply,
        form,
        [{ field: 'key_0', message: refusalText(page, error) }],
        error.status,
      );
    }
    return reply.redirect('/admin/categories?saved=1', 303);
  });
}
