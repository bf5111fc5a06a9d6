import type { FastifyInstance } from 'fastify';
import { areaAccess } from '../layout/page.js';
import { campaignResultPages } from './campaigns.js';
import { comparePages } from './compare.js';
import { companionEffectPages } from './effect.js';
import type { AnalyticsPageDeps } from './shared.js';
import { uptakePages } from './uptake.js';
import { waitlistFigurePages } from './waitlist.js';

/** Analytics pages: uptake, the companion effect and before-and-after, with their downloads. */
export async function analyticsRoutes(app: FastifyInstance, deps: AnalyticsPageDeps) {
  areaAccess(app, deps, 'analyst');
  await uptakePages(app, deps);
  await companionEffectPages(app, deps);
  await comparePages(app, deps);
  await campaignResultPages(app, deps);
  await waitlistFigurePages(app, deps);
}
