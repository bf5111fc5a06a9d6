import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { described, IdParams, Nullable } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { resultsCsv } from './csv.js';
import type { CampaignResultsReader } from './results.js';
import { Campaign, CampaignDesign, CampaignResults, CohortFromStudents } from './schemas.js';
import type { CampaignService } from './service.js';

const CsvText = Type.String({ description: 'RFC 4180 CSV' });
const noCampaign = problemResponse('No such campaign');
const locked = problemResponse('The campaign has been sent: its design and cohort are locked (code campaign_locked)');

export const campaignRoutes: FastifyPluginAsyncTypebox<{
  campaigns: CampaignService;
  results: CampaignResultsReader;
}> = async (app, { campaigns, results }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 20 * 1024 * 1024 }, (_request, body, done) =>
    done(null, body),
  );

  app.get(
    '/campaigns',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'listCampaigns',
        summary: 'Campaigns, newest first',
        tags: ['campaigns'],
        response: { 200: described(Type.Object({ campaigns: Type.Array(Campaign) }), 'The campaigns') },
      },
    },
    async () => ({ campaigns: await campaigns.list() }),
  );

  app.post(
    '/campaigns',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'createCampaign',
        summary: 'Create a campaign (a draft)',
        tags: ['campaigns'],
        description:
          'The design: arms (percent of every stratum each), holdout percent (together 100), the category to stratify by, the send window, the outcome window (default 28 days from sending), the primary outcome and the hypothesis. The seed is made at random unless given. Nothing is sent until POST /campaigns/{id}/send.',
        body: CampaignDesign,
        response: { 201: described(Campaign, 'The draft') },
      },
    },
    async (request, reply) => reply.code(201).send(await campaigns.create(request.body, request.user!)),
  );

  app.get(
    '/campaigns/:id',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getCampaign',
        summary: 'A campaign',
        tags: ['campaigns'],
        params: IdParams,
        response: { 200: described(Campaign, 'The campaign'), 404: noCampaign },
      },
    },
    async (request) => campaigns.get(request.params.id),
  );

  app.put(
    '/campaigns/:id',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'updateCampaign',
        summary: "Change a draft campaign's design",
        tags: ['campaigns'],
        params: IdParams,
        body: CampaignDesign,
        response: { 200: described(Campaign, 'The draft'), 404: noCampaign, 409: locked },
      },
    },
    async (request) => campaigns.update(request.params.id, request.body, request.user!),
  );

  app.put(
    '/campaigns/:id/cohort',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'setCampaignCohort',
        summary: "Set a draft campaign's cohort",
        tags: ['campaigns'],
        description:
          'Replaces the cohort: text/csv with a header of email, optional student_ref and first_name, and optional columns named after category keys (at most 50,000 lines; any wrong line refuses the file, errors name each line), or JSON {"fromStudents": {"categories": {"fee_status": ["international"]}}} for the students Liaison knows. One entry per email; addresses that stopped invitations are left out and counted.',
        params: IdParams,
        body: Type.Union([CohortFromStudents, CsvText]),
        response: {
          200: described(Campaign, 'The draft, with its cohort counted'),
          404: noCampaign,
          409: locked,
          422: problemResponse('Some lines are wrong (code cohort_invalid); errors name each line; nothing was saved'),
        },
      },
    },
    async (request) => {
      const body = request.body;
      return campaigns.setCohort(
        request.params.id,
        typeof body === 'string' ? { csv: body } : { fromStudents: body.fromStudents },
        request.user!,
      );
    },
  );

  app.get(
    '/campaigns/:id/cohort',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'campaignCohort',
        summary: "A campaign's cohort (admins only)",
        tags: ['campaigns'],
        description:
          'Who is in it (their email, until retention removes it), their stratum and, once sent, their arm. Analysts see the figures only.',
        params: IdParams,
        response: {
          200: described(
            Type.Object({
              members: Type.Array(
                Type.Object({
                  email: Nullable(Type.String()),
                  studentRef: Nullable(Type.String()),
                  stratum: Type.String(),
                  arm: Nullable(Type.String()),
                }),
              ),
            }),
            'The members, by email',
          ),
          404: noCampaign,
        },
      },
    },
    async (request) => ({ members: await campaigns.members(request.params.id) }),
  );

  app.post(
    '/campaigns/:id/send',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'sendCampaign',
        summary: 'Assign and send a campaign',
        tags: ['campaigns'],
        description:
          'Locks the design, assigns every member (stratified, from the seed; the same seed and cohort give the same assignment) and queues one email per member of an arm at CAMPAIGN_EMAILS_PER_MINUTE from the send window. The outcome window starts now.',
        params: IdParams,
        response: {
          200: described(Campaign, 'The campaign, sent'),
          404: noCampaign,
          409: locked,
          422: problemResponse(
            'No cohort (cohort_empty), the send window is over (send_window_over) or too short for the emails (send_window_too_short)',
          ),
        },
      },
    },
    async (request) => campaigns.send(request.params.id, request.user!),
  );

  app.get(
    '/campaigns/:id/results',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'campaignResults',
        summary: "A campaign's results",
        tags: ['campaigns'],
        description:
          'By assigned arm (intention to treat) and by stratum: assigned, emailed, bounced, and each outcome in the window (booked, attended, booked with a friend, friend came) with Wilson 95% intervals; each arm against the holdout and later arms against A on the primary outcome, as differences in percentage points with Newcombe intervals, a p-value and a sentence. provisional while the outcome window is open. JSON, or CSV with format=csv or Accept: text/csv.',
        params: IdParams,
        querystring: Type.Object(
          {
            format: Type.Optional(Type.Enum(['json', 'csv'])),
            disclosure: Type.Optional(
              Type.Enum(['none', 'hesa'], {
                description:
                  'hesa: counts rounded to the nearest 5 (0-2 to 0), rates and comparisons under 23 people withheld',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'The results',
            content: { 'application/json': { schema: CampaignResults }, 'text/csv': { schema: CsvText } },
          },
          404: noCampaign,
        },
      },
    },
    async (request, reply) => {
      const found = await results(request.params.id, { disclosure: request.query.disclosure ?? 'none' });
      const csv =
        request.query.format === 'csv' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/csv'));
      if (csv) return reply.type('text/csv; charset=utf-8').send(resultsCsv(found));
      return found;
    },
  );
};
