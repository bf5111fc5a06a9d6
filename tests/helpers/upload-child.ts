// Run by tests/uptake/csv-uploads.test.ts in a child process with the heap `npm start` gives the
// server (--max-old-space-size=256): an admin sends a 20 MB cohort and a 20 MB import of short
// lines; it prints each answer's status and code as one JSON line.
import { createTestApp } from './app.js';
import { campaignWithCohort } from './campaigns.js';

const t = await createTestApp();
const admin = await t.auth('admin');
const campaign = await campaignWithCohort(t, admin, {
  name: 'Spring invitation',
  armPercent: 50,
  sendFrom: '2027-03-02T09:00:00Z',
  sendUntil: '2027-03-09T09:00:00Z',
  cohort: 'email\nana@student.uni.example\n',
});
const TWENTY_MB = 20 * 1024 * 1024 - 1024;
const line = 'a@b.cd\n';
const cohort = `email\n${line.repeat(Math.floor(TWENTY_MB / line.length))}`;
const session = '2026-01-05T10:00:00Z,30,,s1,no,attended\n';
const sessions = `start,minutes,librarian_email,student_ref,companion,outcome\n${session.repeat(Math.floor(TWENTY_MB / session.length))}`;
const answers = [];
for (const [url, method, body] of [
  [`/api/v1/campaigns/${campaign.id}/cohort`, 'PUT', cohort],
  ['/api/v1/imports/sessions', 'POST', sessions],
] as const) {
  const response = await t.app.inject({
    method,
    url,
    headers: { ...admin, 'content-type': 'text/csv' },
    payload: body,
  });
  answers.push({ status: response.statusCode, code: response.json().code, detail: response.json().detail });
}
await t.close();
console.log(JSON.stringify(answers));
