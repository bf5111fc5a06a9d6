import type { WaitlistService } from './service.js';

/**
 * Offers freed times to waiting students: a round of matching every couple of seconds (one
 * process at a time, by lease), so a cancelled time is offered within seconds.
 */
export function createWaitlistWorker(deps: { waitlist: WaitlistService; log?: (message: string) => void }) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let active = false;
  return {
    runOnce: () => deps.waitlist.match(),
    start(intervalMs = 2000) {
      active = true;
      const tick = async () => {
        running = deps.waitlist.match().catch(() => deps.log?.('waitlist matching failed; will try again'));
        await running;
        running = null;
        if (!active) return;
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      };
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
