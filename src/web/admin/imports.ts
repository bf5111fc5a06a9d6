import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';
import { toCsv } from '../../modules/uptake/csv.js';
import {
  IMPORT_COLUMNS,
  IMPORT_OUTCOMES,
  type ImportFileProblem,
  ImportRefused,
} from '../../modules/uptake/imports.js';
import { type PageContext, pageUser } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';
import { sameToken } from '../session.js';
import { type AdminPageDeps, adminContext } from './shared.js';

/** Importing past sessions from a CSV file (sessions held before Liaison, for the figures). */
export async function importsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  /** The columns a file needs, as the page lists them: the fixed ones, then one per category question. */
  async function columns() {
    const dimensions = await deps.categories.listDimensions();
    return {
      fixed: IMPORT_COLUMNS,
      outcomes: IMPORT_OUTCOMES.join(', '),
      categories: dimensions.map((dimension) => ({
        key: dimension.key,
        label: dimension.label,
        values: dimension.values.map((option) => option.value).join(', '),
      })),
    };
  }

  app.get('/admin/imports', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('admin/imports', {
      ...page,
      title: page.t('admin.imports.title'),
      columns: await columns(),
      result: null,
      errors: [],
      lineErrors: [],
    });
  });

  // A file to start from: the header this library's file needs, and two sessions that import as they are.
  app.get('/admin/imports/example.csv', { config: { page: true } }, async (request, reply) => {
    const dimensions = await deps.categories.listDimensions();
    const [librarian] = await deps.librarians.list(pageUser(request), {});
    const email = librarian?.email ?? 'librarian@library.example';
    const csv = toCsv(
      [...IMPORT_COLUMNS, ...dimensions.map((dimension) => dimension.key)],
      [
        [
          '2026-10-05T10:00:00+01:00',
          30,
          email,
          'S1234567',
          'yes',
          'attended',
          ...dimensions.map((d) => d.values[0]?.value ?? ''),
        ],
        ['2026-10-06T14:30:00+01:00', 45, email, 'S7654321', 'no', 'no_show', ...dimensions.map(() => '')],
      ],
    );
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="past-sessions-example.csv"')
      .send(csv);
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
    const listed = await columns();
    const render = (status: number, extra: Record<string, unknown>) =>
      reply.code(status).view('admin/imports', {
        ...page,
        title: page.t('admin.imports.title'),
        columns: listed,
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
      const result = await deps.imports.importSessions({ csv }, { skipInvalid }, pageUser(request));
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
