import { parseArgs } from 'node:util';
import { benchBookings } from './bookings.js';
import { benchCalendars } from './calendars.js';
import { benchCampaigns } from './campaigns.js';
import { benchOutbox } from './outbox.js';
import { benchPages } from './pages.js';
import { benchPools } from './pools.js';
import { benchSlotRequests, benchSlots } from './slots.js';
import { report } from './stats.js';
import { benchUptake } from './uptake.js';
import { benchWaitlist } from './waitlist.js';
import { benchWebhooks } from './webhooks.js';

/**
 * npm run bench [-- --only slots|pages|bookings|outbox|uptake|webhooks|campaigns|calendars|pools|waitlist] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
 * Prints figures; never asserts on time (shared machines vary). slots (over HTTP), bookings, outbox, uptake
 * webhooks, campaigns, calendars, pools and waitlist need PostgreSQL.
 */
async function main() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    },
  });
  const wanted = (name: string) => !values.only || values.only === name;
  console.log(`Node ${process.version}, ${new Date().toISOString()}\n`);
  if (wanted('slots')) {
    report(benchSlots());
    for (const measurement of await benchSlotRequests({ adminUrl: values.postgres as string })) report(measurement);
  }
  if (wanted('pages')) for (const measurement of await benchPages()) report(measurement);
  if (wanted('bookings')) {
    for (const measurement of await benchBookings({ adminUrl: values.postgres as string })) report(measurement);
  }
  if (wanted('outbox')) report(await benchOutbox({ adminUrl: values.postgres as string }));
  if (wanted('uptake'))
    for (const measurement of await benchUptake({ adminUrl: values.postgres as string })) report(measurement);
  if (wanted('webhooks')) report(await benchWebhooks({ adminUrl: values.postgres as string }));
  if (wanted('campaigns'))
    for (const measurement of await benchCampaigns({ adminUrl: values.postgres as string })) report(measurement);
  if (wanted('pools'))
    for (const measurement of await benchPools({ adminUrl: values.postgres as string })) report(measurement);
  if (wanted('waitlist')) report(await benchWaitlist({ adminUrl: values.postgres as string }));
  if (wanted('calendars'))
    for (const measurement of await benchCalendars({ adminUrl: values.postgres as string })) report(measurement);
}

await main();
