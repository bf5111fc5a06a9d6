import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebDeps } from '../deps.js';
import { pageContext } from '../layout/page.js';

/** The cookie that carries a campaign invitation's token from its link to the booking made after it. */
export const INVITATION_COOKIE = 'liaison_invitation';
/** Long enough for the outcome window; the token itself stops working when the link expires. */
const INVITATION_COOKIE_DAYS = 35;
const TOKEN = /^[\w-]{20,100}$/;

type CampaignPageDeps = Pick<WebDeps, 'catalogues' | 'config' | 'campaigns'>;

/**
 * The two links in a campaign's invitation. The invitation link opens the booking pages and
 * remembers (in a cookie) whose invitation it was, so a booking made after it counts as that
 * person's outcome whatever address they sign in with. The stop link shows a button; a POST to
 * it (the button, or a mail client's RFC 8058 one-click request, which carries no CSRF token: the
 * link's own token is the authority) stops every later invitation to that address.
 */
export async function campaignPageRoutes(app: FastifyInstance, deps: CampaignPageDeps) {
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
  const secure = deps.config.publicUrl.startsWith('https:');

  app.get(
    '/invitation/:token',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { token: string } }>, reply) => {
      const token = request.params.token;
      const member = TOKEN.test(token) ? await deps.campaigns.memberOfLink(token) : null;
      if (member) {
        const cookie = [
          `${INVITATION_COOKIE}=${token}`,
          'Path=/',
          'HttpOnly',
          'SameSite=Lax',
          `Max-Age=${INVITATION_COOKIE_DAYS * 86_400}`,
          ...(secure ? ['Secure'] : []),
        ].join('; ');
        reply.header('set-cookie', cookie);
      }
      // An expired or unknown link still opens the booking pages: booking is never refused for it.
      return reply.redirect('/', 303);
    },
  );

  app.get(
    '/invitations/stop/:token',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { token: string } }>, reply) => {
      const page = context(request);
      if (!TOKEN.test(request.params.token)) return reply.callNotFound();
      return reply.view('campaigns/stop', {
        ...page,
        title: page.t('campaign.stop.title'),
        action: `/invitations/stop/${request.params.token}`,
      });
    },
  );

  app.post(
    '/invitations/stop/:token',
    { config: { page: true, csrfInHandler: true } },
    async (request: FastifyRequest<{ Params: { token: string } }>, reply) => {
      const page = context(request);
      const stopped = TOKEN.test(request.params.token) && (await deps.campaigns.stopInvitations(request.params.token));
      return reply.code(stopped ? 200 : 404).view('layout/message', {
        ...page,
        title: page.t(stopped ? 'campaign.stopped.title' : 'campaign.stopUnknown.title'),
        message: page.t(stopped ? 'campaign.stopped.body' : 'campaign.stopUnknown.body'),
        link: { href: '/', text: page.t('home.title') },
      });
    },
  );
}
