import type { FastifyInstance } from 'fastify';
import type { WebDeps } from '../deps.js';
import { pageContext } from './page.js';

/** The day this service's accessibility statement was prepared and last reviewed (against WCAG 2.2 AA). */
export const STATEMENT_REVIEWED = Date.parse('2026-12-04T12:00:00Z');

/** Pages about the service itself, for anyone: its accessibility statement and privacy notice. */
export async function aboutRoutes(app: FastifyInstance, deps: Pick<WebDeps, 'catalogues' | 'config'>) {
  const context = (request: Parameters<typeof pageContext>[0]) =>
    pageContext(request, deps.catalogues, deps.config.libraryTimeZone);

  app.get('/accessibility', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('layout/accessibility', {
      ...page,
      title: page.t('accessibility.title'),
      contactEmail: deps.config.contactEmail ?? null,
      reviewed: page.fmt.day(STATEMENT_REVIEWED),
    });
  });

  app.get('/privacy', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('layout/privacy', {
      ...page,
      title: page.t('privacy.title'),
      contactEmail: deps.config.contactEmail ?? null,
      months: deps.config.retentionMonths,
    });
  });
}
