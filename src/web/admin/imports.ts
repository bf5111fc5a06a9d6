import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';
import { type ImportFileProblem, ImportRefused } from '../../modules/uptake/imports.js';
import type { PageContext } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
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
      if (!(error instanceof ImportRefused)) {
        return render(error.status, { errors: [{ field: 'file', message: refusalText(page, error) }] });
      }
      return render(error.status, {
        errors: [{ field: 'file', message: fileProblem(page, error.file) }],
        lineErrors: error.lines.map((line) =>
          page.t('admin.imports.row', {
            line: line.line,
            problems: line.problems
              .map((problem) => page.t(`admin.imports.problem.${problem.kind}`, problem))
              .join('; '),
          }),
        ),
      });
    }
  });
}

/** What is wrong with the file as a whole; for wrong rows, the rows list says which. */
function fileProblem(page: PageContext, problem: ImportFileProblem | null): string {
  if (problem === null) return page.t('admin.imports.rowsWrong');
  if (problem.kind === 'csv') {
    return problem.line === null
      ? page.t('admin.imports.notCsv')
      : page.t('admin.imports.notCsvAt', { line: problem.line });
  }
  const list = (names: string[]) => names.join(', ');
  return [
    problem.missing.length > 0 ? page.t('admin.imports.columnsMissing', { columns: list(problem.missing) }) : '',
    problem.unknown.length > 0 ? page.t('admin.imports.columnsUnknown', { columns: list(problem.unknown) }) : '',
  ]
    .filter(Boolean)
    .join(' ');
}
