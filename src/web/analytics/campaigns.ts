import type { FastifyInstance, FastifyRequest } from 'fastify';
import { resultsCsv } from '../../modules/campaigns/csv.js';
import type { CampaignResults } from '../../modules/campaigns/schemas.js';
import { escapeMarkup } from '../../text/markup.js';
import { UUID } from '../layout/forms.js';
import type { PageContext } from '../layout/page.js';
import { pageContext } from '../layout/page.js';
import { type AnalyticsPageDeps, BOM } from './shared.js';

const WIDTH = 640;
const ROW = 36;
const LEFT = 170;
const RIGHT = 24;

/**
 * The comparisons on the primary outcome as a chart: each difference in percentage points as a
 * dot, its 95% interval as a line, and the line of no difference. The same figures are in the
 * table beside it; the chart is a picture of them (role="img" with a description).
 */
export function differenceChart(results: CampaignResults, page: PageContext): string {
  const rows = results.comparisons.filter((row) => row.ci95Points && row.differencePoints !== null);
  if (rows.length === 0) return '';
  const low = Math.min(-10, ...rows.map((row) => (row.ci95Points as [number, number])[0]));
  const high = Math.max(10, ...rows.map((row) => (row.ci95Points as [number, number])[1]));
  const x = (value: number) => LEFT + ((value - low) / (high - low)) * (WIDTH - LEFT - RIGHT);
  const height = rows.length * ROW + 40;
  const label = (row: (typeof rows)[number]) =>
    `${row.stratum ? `${row.stratum}: ` : ''}${row.arm} − ${row.against === 'holdout' ? page.t('analytics.campaigns.holdout') : row.against}`;
  const title = page.t('analytics.campaigns.chartTitle');
  const parts = rows.map((row, index) => {
    const y = 20 + index * ROW + ROW / 2;
    const [from, to] = row.ci95Points as [number, number];
    return [
      `<text x="${LEFT - 8}" y="${y + 4}" text-anchor="end" font-size="13">${escapeMarkup(label(row))}</text>`,
      `<line x1="${x(from).toFixed(1)}" x2="${x(to).toFixed(1)}" y1="${y}" y2="${y}" stroke="#1d4f91" stroke-width="3"/>`,
      `<circle cx="${x(row.differencePoints as number).toFixed(1)}" cy="${y}" r="5" fill="#1d4f91"/>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-labelledby="difference-title difference-desc" class="chart">`,
    `<title id="difference-title">${escapeMarkup(title)}</title>`,
    `<desc id="difference-desc">${escapeMarkup(page.t('analytics.campaigns.chartDesc'))}</desc>`,
    `<line x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="10" y2="${height - 24}" stroke="#444" stroke-dasharray="4 3"/>`,
    `<text x="${x(0).toFixed(1)}" y="${height - 8}" text-anchor="middle" font-size="12">0</text>`,
    `<text x="${x(low).toFixed(1)}" y="${height - 8}" text-anchor="start" font-size="12">${Math.round(low)}</text>`,
    `<text x="${x(high).toFixed(1)}" y="${height - 8}" text-anchor="end" font-size="12">+${Math.round(high)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

/** Campaign results for analysts and admins: the design as it was locked, and what happened. */
export async function campaignResultPages(app: FastifyInstance, deps: AnalyticsPageDeps) {
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, deps.config.libraryTimeZone);

  app.get('/analytics/campaigns', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    const campaigns = (await deps.campaigns.list()).filter((campaign) => campaign.status === 'sent');
    return reply.view('analytics/campaigns', {
      ...page,
      title: page.t('analytics.campaigns.title'),
      current: '/analytics/campaigns',
      campaigns: campaigns.map((campaign) => ({
        ...campaign,
        when: page.fmt.full(Date.parse(campaign.sentAt as string)),
      })),
    });
  });

  /** The results the page's query asks for (HESA rounding or not), worded in the page's language. */
  async function readResults(
    request: FastifyRequest<{ Params: { id: string }; Querystring: { disclosure?: string } }>,
  ) {
    const page = context(request);
    const hesa = request.query.disclosure === 'hesa';
    const results = await deps.campaignResults(request.params.id, { disclosure: hesa ? 'hesa' : 'none', t: page.t });
    return { page, hesa, results };
  }

  // The results as a spreadsheet: the API's CSV with each column named from the catalogue.
  app.get(
    '/analytics/campaigns/:id/results.csv',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { disclosure?: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const { page, results } = await readResults(request);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="campaign-results.csv"')
        .send(`${BOM}${resultsCsv(results, (column) => page.t(`analytics.campaigns.csv.${column}`))}`);
    },
  );

  app.get(
    '/analytics/campaigns/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { disclosure?: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const { page, hesa, results } = await readResults(request);
      const percent = (value: number | null) => (value === null ? '–' : `${(value * 100).toFixed(1)}%`);
      const interval = (ci: [number, number] | null) =>
        ci ? `${(ci[0] * 100).toFixed(1)}–${(ci[1] * 100).toFixed(1)}%` : '–';
      return reply.view('analytics/campaign', {
        ...page,
        title: results.campaign.name,
        current: '/analytics/campaigns',
        results,
        hesa,
        percent,
        interval,
        chart: differenceChart(results, page),
        when: (iso: string | null) => (iso ? page.fmt.full(Date.parse(iso)) : ''),
      });
    },
  );
}
