import type { CalendarConnections } from './service.js';

/**
 * Reads librarians' calendars as they fall due: every CALENDAR_SYNC_MINUTES each (with jitter),
 * sooner after a failure. Any number of processes may run it: each connection is claimed by one.
 */
export function createCalendarWorker(deps: { calendars: CalendarConnections; log?: (message: string) => void }) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let active = false;

  return {
    /** One tick: the calendars due a read, then bookings to write into calendars. */
    async runOnce() {
      const read = await deps.calendars.syncDue();
      const written = await deps.calendars.writeDue();
      return { read, ...written };
    },
    start(intervalMs = 15_000) {
      active = true;
      const tick = async () => {
        running = deps.calendars
          .syncDue()
          .then(() => deps.calendars.writeDue())
          .catch(() => deps.log?.('calendar read or write failed; will try again'));
        await running;
        running = null;
        if (!active) return;
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      };
      timer = setTimeout(tick, 0);
      timer.unref();
    },
    /** Stops reading; a read in progress finishes first. */
    async stop() {
      active = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
