import { computeSlots, type SlotRequest, type WeeklyRule } from '../src/modules/availability/slots.js';
import { type Measurement, summarise } from './stats.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** One librarian, 62 days, 3 windows every day, 500 existing bookings: the slots a student sees. */
export function benchSlots(): Measurement {
  const rules: WeeklyRule[] = [];
  for (let weekday = 1; weekday <= 7; weekday++) {
    rules.push(
      { weekday, start: '09:00', end: '12:00' },
      { weekday, start: '13:00', end: '16:30' },
      { weekday, start: '17:00', end: '19:00' },
    );
  }
  const fromMs = Date.parse('2027-03-01T00:00:00Z'); // spans the March DST change
  const toMs = fromMs + 62 * DAY;
  const busy = Array.from({ length: 500 }, (_, i) => {
    const day = i % 62;
    const hour = 9 + ((i * 7) % 9);
    const startMs = fromMs + day * DAY + hour * 60 * MINUTE;
    return { startMs, endMs: startMs + 40 * MINUTE };
  });
  const request: SlotRequest = {
    timeZone: 'Europe/London',
    slotMinutes: 30,
    bufferMinutes: 10,
    minNoticeMinutes: 120,
    horizonDays: 90,
    defaultModes: ['in_person'],
    rules,
    overrides: [{ kind: 'closed', fromDate: '2027-03-26', toDate: '2027-03-29' }],
    busy,
    nowMs: fromMs - DAY,
    fromMs,
    toMs,
  };
  let slots = 0;
  for (let i = 0; i < 50; i++) slots = computeSlots(request).length; // warm up
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) {
    const started = performance.now();
    computeSlots(request);
    samples.push(performance.now() - started);
  }
  return {
    name: `slots: 62 days, 21 weekly windows, 500 busy ranges (${slots} slots)`,
    ...summarise(samples),
    target: 'median < 5 ms',
  };
}
