import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebDeps } from '../deps.js';
import { safeNext } from './page.js';
import { pathOf, REDRAWN_BY_POST } from './zone-routes.js';

type Fields = Record<string, string | undefined>;

/**
 * The footer's language control, without JavaScript: the choice is kept in a cookie (and with a
 * signed-in student's profile, so their emails follow it), and the person returns to the same
 * page in the same state: its address, or a form-drawn page's form sent again (as for a zone).
 */
export async function languageRoutes(
  app: FastifyInstance,
  deps: Pick<WebDeps, 'catalogues' | 'pageCookies' | 'categories'>,
) {
  app.post('/language', { config: { page: true } }, async (request: FastifyRequest<{ Body: Fields }>, reply) => {
    const body = request.body ?? {};
    const language = deps.catalogues.known(body.uiLanguage);
    if (language) {
      deps.pageCookies.setLanguage(reply, language);
      const user = request.session?.user;
      if (user) await deps.categories.rememberLanguage(user, language);
    }
    const next = safeNext(body.next);
    // 307 has the browser send this same form (the page's own fields with it) to the page again.
    if (body.zoneRedraw === '1' && REDRAWN_BY_POST.has(pathOf(next))) return reply.redirect(next, 307);
    return reply.redirect(next, 303);
  });
}
