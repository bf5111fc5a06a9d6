import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { areaAccess } from '../layout/page.js';
import { calendarsPages } from './calendars.js';
import { campaignsPages } from './campaigns.js';
import { categoriesPages } from './categories.js';
import { closuresPages } from './closures.js';
import { emailsPages } from './emails.js';
import { importsPages } from './imports.js';
import { librariansPages } from './librarians.js';
import { peoplePages } from './people.js';
import { recordPages } from './record.js';
import type { AdminPageDeps } from './shared.js';
import { teamsPages } from './teams.js';
import { termsPages } from './terms.js';

const CSV_LIMIT_BYTES = 5 * 1024 * 1024;

/** Admin pages: librarians, closures, imports of past sessions and email problems. */
export async function adminRoutes(app: FastifyInstance, deps: AdminPageDeps) {
  areaAccess(app, deps, 'admin');
  await app.register(multipart, { limits: { files: 1, fileSize: CSV_LIMIT_BYTES, fields: 10 } });
  await librariansPages(app, deps);
  await closuresPages(app, deps);
  await importsPages(app, deps);
  await emailsPages(app, deps);
  await calendarsPages(app, deps);
  await teamsPages(app, deps);
  await peoplePages(app, deps);
  await recordPages(app, deps);
  await campaignsPages(app, deps);
}

/** Admin pages for the taxonomy and the denominators: categories, terms and cohort sizes. */
export async function adminTaxonomyRoutes(app: FastifyInstance, deps: AdminPageDeps) {
  areaAccess(app, deps, 'admin');
  await categoriesPages(app, deps);
  await termsPages(app, deps);
}
