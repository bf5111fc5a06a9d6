import type { TestContext } from './app.js';

/**
 * A campaign made through the API with one plain arm (A) and a holdout: the design the tests that
 * only need some campaign share. The shares, seed and windows are the caller's.
 */
export async function campaignWithCohort(
  t: TestContext,
  headers: Record<string, string>,
  options: {
    name: string;
    armPercent: number;
    seed?: string;
    sendFrom: string;
    sendUntil: string;
    /** The cohort file (text/csv). */
    cohort: string;
  },
): Promise<{ id: string; cohort: { size: number } }> {
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/campaigns',
    headers,
    payload: {
      name: options.name,
      hypothesis: 'An invitation raises bookings.',
      primaryOutcome: 'booked',
      arms: [
        {
          key: 'A',
          name: 'Plain',
          percent: options.armPercent,
          subject: 'Book',
          body: '{bookingLink}',
          friendParagraph: '',
        },
      ],
      holdoutPercent: 100 - options.armPercent,
      ...(options.seed ? { seed: options.seed } : {}),
      sendFrom: options.sendFrom,
      sendUntil: options.sendUntil,
    },
  });
  if (created.statusCode !== 201) throw new Error(`creating a campaign failed: ${created.body}`);
  const id = created.json().id as string;
  const cohort = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/campaigns/${id}/cohort`,
    headers: { ...headers, 'content-type': 'text/csv' },
    payload: options.cohort,
  });
  if (cohort.statusCode !== 200) throw new Error(`setting the cohort failed: ${cohort.body}`);
  return { id, cohort: cohort.json().cohort };
}
