import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/**
 * What each route may cost, set as it is added. Returns the pages' routes (config.page), which the
 * app names for its page fuzz tests.
 */
export function routeBudgets(
  app: FastifyInstance,
  config: Pick<Config, 'http' | 'rateLimit'>,
): { methods: string[]; url: string }[] {
  // Unauthenticated reads are limited per IP, one budget over all public routes (HEAD included);
  // booking writes per student or booking (see bookings/routes.ts).
  const pageRoutes: { methods: string[]; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    if (route.config?.page === true) pageRoutes.push({ methods: [route.method].flat(), url: route.url });
    // Anyone may send these (or anyone holding a link): their bodies are small, and so is the limit.
    const isAnonymous = route.config?.access === 'public' || route.config?.manageToken === true;
    if (isAnonymous && route.bodyLimit === undefined) route.bodyLimit = config.http.publicBodyLimitBytes;
    const methods = [route.method].flat();
    const isRead = methods.includes('GET') || methods.includes('HEAD');
    // /health reads the database and /docs serves the contract: anyone's, so within the same
    // budget (the load balancer's probes, /health/live and /health/ready, are not).
    const isOpenPlatformRead = route.url === '/health' || route.url === '/docs' || route.url.startsWith('/docs/');
    if ((route.config?.access === 'public' || isOpenPlatformRead) && isRead && route.config?.rateLimit === undefined) {
      route.config ??= {};
      route.config.rateLimit = {
        max: config.rateLimit.publicReadsPerMinute,
        timeWindow: '1 minute',
        keyGenerator: (request) => `public-read:${request.ip}`,
      };
    }
    // Pages viewed without signing in share that budget; the count is taken once the session is
    // read (preHandler), so signed-in staff and students are not held to one address's share.
    if (route.config?.page === true && isRead && route.config.rateLimit === undefined) {
      route.config.rateLimit = {
        max: config.rateLimit.publicReadsPerMinute,
        timeWindow: '1 minute',
        hook: 'preHandler',
        keyGenerator: (request) => `public-read:${request.ip}`,
        allowList: (request) => Boolean(request.session?.user),
      };
    }
  });
  return pageRoutes;
}
