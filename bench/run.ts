import { benchSlots } from './slots.js';
import { report } from './stats.js';

/** npm run bench: prints figures; never asserts on time (shared machines vary). */
async function main() {
  console.log(`Node ${process.version}, ${new Date().toISOString()}\n`);
  report(benchSlots());
}

await main();
