import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';
import { sameToken } from '../session.js';
import { type AdminPageDeps, adminContext } from './shared.js';

/** Importing past sessions from a CSV file (sessions held before Liaison, for the figures). */
export async function importsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  app.get('/admin/imports', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('admin/imports', {
      ...page,
      title: page.t('admin.imports.title'),
      result: null,
      errors: [],
      lineErrors: [],
    });
  });

  app.post('/admin/imports', { config: { page: true, csrfInHandler: true } }, async (request, reply) => {
    const page = context(request);
    let csv = '';
    let skipInvalid = false;
    let token = '';
    for await (const part of request.parts()) {
      if (part.type === 'file') csv = (await part.toBuffer()).toString('utf8');
      else if (part.fieldname === 'skipInvalid') skipInvalid = part.value === 'yes';
      else if (part.fieldname === '_csrf') token = String(part.value);
    }
    const render = (status: number, extra: Record<string, unknown>) =>
      reply.code(status).view('admin/imports', {
        ...page,
        title: page.t('admin.imports.title'),
        result: null,
        errors: [],
        lineErrors: [],
        ...extra,
      });
    // Multipart bodies are read here, so the CSRF check is here too.
    if (!request.session || !sameToken(request.session.csrfToken, token)) {
      return render(403, { errors: [{ field: 'file', message: page.t('error.csrf') }] });
    }
    if (!csv.trim()) return render(400, { errors: [{ field: 'file', message: page.t('admin.imports.fileRequired') }] });
    try {
      const result = await deps.imports.importSessions({ csv }, { skipInvalid });
      return render(200, { result });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return render(error.status, {
        errors: [{ field: 'file', message: error.message }],
        lineErrors: (error.extra.errors ?? []).map((entry) => entry.message),
      });
    }
  });
}
