import {
  addDays,
  type CivilDate,
  civilDateAt,
  formatCivilDate,
  isoWeekday,
  localDaysToInstants,
  minutesOfDay,
  offsetChangeBetween,
  wallClockResolver,
} from '../../time/zone.js';

export type Mode = 'in_person' | 'online';

export interface WeeklyRule {
  weekday: number;
  /** "HH:mm", wall clock in the librarian's zone. */
  start: string;
  end: string;
  validFrom?: string | null;
  validTo?: string | null;
  mode?: Mode | null;
  location?: string | null;
}

/** Whole local days (inclusive) or exact instants (epoch ms, end exclusive). */
export type OverrideRange = { fromDate: string; toDate: string } | { startMs: number; endMs: number };
export type AvailabilityOverride = OverrideRange & { kind: 'closed' | 'open' };

/** Time a booking holds: from its start until its end plus the buffer then in force. */
export interface BusyRange {
  startMs: number;
  endMs: number;
}

export interface SlotRequest {
  timeZone: string;
  slotMinutes: number;
  bufferMinutes: number;
  minNoticeMinutes: number;
  horizonDays: number;
  defaultModes: Mode[];
  defaultLocation?: string | null;
  rules: WeeklyRule[];
  overrides: AvailabilityOverride[];
  busy: BusyRange[];
  nowMs: number;
  /** Slot starts in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
}

export interface Slot {
  startMs: number;
  endMs: number;
  modes: Mode[];
  location: string | null;
}

interface Window {
  startMs: number;
  endMs: number;
  modes: Mode[];
  location: string | null;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function overrideInterval(range: OverrideRange, zone: string): BusyRange {
  if ('startMs' in range) return { startMs: range.startMs, endMs: range.endMs };
  const { fromMs, toMs } = localDaysToInstants(range.fromDate, range.toDate, zone);
  return { startMs: fromMs, endMs: toMs };
}

/** Sorted, with overlapping or touching intervals joined. */
function union<T extends BusyRange>(intervals: T[], join: (into: T, from: T) => void = () => {}): T[] {
  const sorted = [...intervals].sort((a, b) => a.startMs - b.startMs);
  const merged: T[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && interval.startMs <= last.endMs) {
      last.endMs = Math.max(last.endMs, interval.endMs);
      join(last, interval);
    } else {
      merged.push({ ...interval });
    }
  }
  return merged;
}

function weeklyWindows(request: SlotRequest, first: CivilDate, last: CivilDate): Window[] {
  const windows: Window[] = [];
  const instantOf = wallClockResolver(request.timeZone);
  const lastIso = formatCivilDate(last);
  for (let date = first; formatCivilDate(date) <= lastIso; date = addDays(date, 1)) {
    const weekday = isoWeekday(date);
    const iso = formatCivilDate(date);
    for (const rule of request.rules) {
      if (rule.weekday !== weekday) continue;
      if ((rule.validFrom && iso < rule.validFrom) || (rule.validTo && iso > rule.validTo)) continue;
      const startEarly = instantOf(date, minutesOfDay(rule.start), 'earlier');
      const startLate = instantOf(date, minutesOfDay(rule.start), 'later');
      // The window ends the first time the clock reads its end; it never runs into wall times past it.
      const endMs = instantOf(date, minutesOfDay(rule.end), 'earlier');
      if (endMs <= startEarly) continue;
      const pieces: [number, number][] =
        startLate > startEarly && startLate < endMs
          ? // The start lies in an autumn repeat: skip the stretch after the clock falls back below it.
            [
              [startEarly, offsetChangeBetween(startEarly, startLate, request.timeZone)],
              [startLate, endMs],
            ]
          : [[startEarly, endMs]];
      for (const [startMs, pieceEndMs] of pieces) {
        windows.push({
          startMs,
          endMs: pieceEndMs,
          modes: rule.mode ? [rule.mode] : [...request.defaultModes],
          location: rule.location ?? request.defaultLocation ?? null,
        });
      }
    }
  }
  return windows;
}

/** Walks sorted disjoint intervals alongside queries whose start only increases. */
function overlapChecker(intervals: BusyRange[]) {
  let index = 0;
  return (startMs: number, endMs: number): boolean => {
    while (index < intervals.length && (intervals[index] as BusyRange).endMs <= startMs) index++;
    const next = intervals[index];
    return next !== undefined && next.startMs < endMs;
  };
}

/** The first and last instants a slot may start at: the range, less notice, within the horizon. */
export interface StartBounds {
  earliestStart: number;
  latestStart: number;
}

export function startBounds(
  request: Pick<SlotRequest, 'fromMs' | 'toMs' | 'nowMs' | 'minNoticeMinutes' | 'horizonDays'>,
): StartBounds {
  return {
    earliestStart: Math.max(request.fromMs, request.nowMs + request.minNoticeMinutes * MINUTE),
    latestStart: Math.min(request.toMs - 1, request.nowMs + request.horizonDays * DAY),
  };
}

/**
 * Bookable slots: every start on the slotMinutes grid from each open window's start (weekly
 * windows and extra hours joined where they meet), wholly inside the window, clear of closures,
 * clear of busy time (the slot plus its buffer), at least minNotice after now, and no later than
 * horizonDays after now. Pure: everything it needs comes in `request`. `bounds` may widen the
 * starts considered (slot lists cached across requests, availability/service.ts): the windows,
 * and so the grid, depend only on the local dates of the two bounds, so slots computed for wider
 * bounds on the same dates and then narrowed are exactly the slots for the narrow ones.
 */
export function computeSlots(request: SlotRequest, bounds: StartBounds = startBounds(request)): Slot[] {
  const zone = request.timeZone;
  const slotMs = request.slotMinutes * MINUTE;
  const { earliestStart, latestStart } = bounds;
  if (latestStart < earliestStart) return [];

  // A local day's windows lie within a day of its UTC midnight, whatever the zone.
  const firstDate = addDays(civilDateAt(earliestStart, zone), -1);
  const lastDate = addDays(civilDateAt(latestStart, zone), 1);
  const windows = weeklyWindows(request, firstDate, lastDate);
  const closures: BusyRange[] = [];
  for (const override of request.overrides) {
    const interval = overrideInterval(override, zone);
    if (override.kind === 'closed') closures.push(interval);
    else windows.push({ ...interval, modes: [...request.defaultModes], location: request.defaultLocation ?? null });
  }

  const openWindows = union(windows, (into, from) => {
    for (const mode of from.modes) if (!into.modes.includes(mode)) into.modes.push(mode);
  });
  const isClosed = overlapChecker(union(closures));
  const isBusy = overlapChecker(union(request.busy));
  const holdMs = slotMs + request.bufferMinutes * MINUTE;

  const slots: Slot[] = [];
  for (const window of openWindows) {
    if (window.endMs <= earliestStart || window.startMs > latestStart) continue;
    // Skip straight to the first grid point that can qualify.
    const skipped = Math.max(0, Math.ceil((earliestStart - window.startMs) / slotMs));
    for (let startMs = window.startMs + skipped * slotMs; startMs + slotMs <= window.endMs; startMs += slotMs) {
      if (startMs > latestStart) break;
      const endMs = startMs + slotMs;
      if (isClosed(startMs, endMs) || isBusy(startMs, startMs + holdMs)) continue;
      slots.push({ startMs, endMs, modes: window.modes, location: window.location });
    }
  }
  return slots;
}

/** Whether `startMs` is exactly one of the offered slot starts. */
export function findSlot(request: SlotRequest, startMs: number): Slot | undefined {
  return computeSlots({ ...request, fromMs: startMs, toMs: startMs + 1 }).find((slot) => slot.startMs === startMs);
}
