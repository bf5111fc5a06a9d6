/**
 * The import rules of ARCHITECTURE.md, checked by dependency-cruiser in `npm test`
 * (tests/platform/boundaries.test.ts). Layers, from the bottom:
 *   foundation (errors.ts, config.ts, time/, text/, untrusted/) < db/ < http/ < plugins/ < modules/ < web/ < services.ts, app.ts < cli/, main.ts
 * A layer may import the layers below it, never those above.
 */
const FOUNDATION = '^src/(errors\\.ts|config\\.ts|dev-secret\\.ts|time/|text/|untrusted/)';
const above = (...layers) => `^src/(${layers.join('|')})`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles, type-only ones included: a reader must be able to start at the bottom.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'foundation-stands-alone',
      comment: 'errors, config, time and text import nothing of the application above them.',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { path: above('db/', 'http/', 'plugins/', 'modules/', 'web/', 'app\\.ts', 'services\\.ts', 'cli/', 'main\\.ts') },
    },
    {
      name: 'db-knows-no-features',
      comment: 'The database layer (schema, transactions, reachability) knows no module, route or page.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: above('http/', 'plugins/', 'modules/', 'web/', 'app\\.ts', 'cli/', 'main\\.ts') },
    },
    {
      name: 'http-helpers-know-no-features',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: above('db/', 'plugins/', 'modules/', 'web/', 'app\\.ts', 'cli/', 'main\\.ts') },
    },
    {
      name: 'plugins-know-no-features',
      comment: 'API plugins (auth, errors, rate limits) serve every module and know none.',
      severity: 'error',
      from: { path: '^src/plugins/' },
      to: { path: above('modules/', 'web/', 'app\\.ts', 'cli/', 'main\\.ts') },
    },
    {
      name: 'modules-know-no-pages',
      comment: 'Modules are the API and its services; pages use them, never the reverse.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: above('web/', 'app\\.ts', 'services\\.ts', 'cli/', 'main\\.ts') },
    },
    {
      name: 'channels-never-reach-into-bookings',
      comment:
        'Email, webhooks, the change feed and links work from what a change wrote; they import nothing from the bookings module.',
      severity: 'error',
      from: { path: '^src/modules/(notifications|webhooks|events|links)/' },
      to: { path: '^src/modules/bookings/' },
    },
    {
      name: 'pages-reach-the-database-only-for-their-own-tables',
      comment:
        'Pages go through the services; only the web front own tables (sessions, page cookies, sign-in) and the unavailable-database check touch db/.',
      severity: 'error',
      from: { path: '^src/web/', pathNot: '^src/web/(session|page-cookies|plugin)\\.ts$|^src/web/sign-in/service\\.ts$' },
      to: { path: '^src/db/' },
    },
    {
      name: 'nothing-imports-the-entry-points',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main\\.ts|cli/)' },
      to: { path: above('main\\.ts', 'cli/') },
    },
    {
      name: 'public-driver-api-only',
      comment:
        "pg and drizzle are used through their package entry points: no deep import of their internals (lib/, pg-pool, pg-protocol, drizzle's sessions).",
      severity: 'error',
      from: { path: '^(src|tests|bench)/' },
      to: {
        path: 'node_modules/(pg/lib/|pg-pool/|pg-protocol/|drizzle-orm/[a-z-]+/session|drizzle-orm/session)',
        pathNot: 'node_modules/pg/lib/index\\.js$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
