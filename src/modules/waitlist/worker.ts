import type { WaitlistService } from './service.js';

/**
 * Offers freed times to waiting students: a round of matching every couple of seconds (one
 * process at a time, by lease), and at once when a request frees a time (nudge), so a cancelled
 * time is offered within a second.
 */
export function createWaitlistWorker(deps: { waitlist: WaitlistService; log?: (message: string) => void }) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let active = false;
  let again = false;
  let intervalMs = 2000;

  async function tick() {
    timer = null;
    again = false;
    running = deps.waitlist.match().catch(() => deps.log?.('waitlist matching failed; will try again'));
    await running;
    running = null;
    if (!active) return;
    timer = setTimeout(tick, again ? 0 : intervalMs);
    timer.unref();
  }

  return {
    runOnce: () => deps.waitlist.match(),
    start(everyMs = 2000) {
      active = true;
      intervalMs = everyMs;
      timer = setTimeout(tick, 0);
      timer.unref();
    },
    /** Matches now (a time was just freed), or straight after the round under way. */
    nudge() {
      if (!active) return;
      if (running) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(tick, 0);
      timer.unref();
    },
    async stop() {
      active = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
