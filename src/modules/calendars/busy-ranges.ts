import { sql } from 'drizzle-orm';
import { calendarBusyBlocks, calendarConnections } from '../../db/schema.js';
import type { BusyRangeSource } from '../availability/service.js';

const epochMs = (instant: unknown) => sql`(date_part('epoch', ${instant}::timestamptz) * 1000)::bigint`;

/**
 * A librarian's busy time from their own calendars, for the slot read: the stored blocks touching
 * the range, and, while any of their calendars has failed and was last read before
 * `calendarReadAfter` (CALENDAR_STALE_HOURS ago), the whole range: their times are withheld until
 * it is read again. Other librarians are untouched.
 */
export const calendarBusyRanges: BusyRangeSource = ({ librarianId, startsBefore, heldAfter, calendarReadAfter }) =>
  sql<string | null>`nullif(concat_ws(',',
    (select string_agg('[' || ${epochMs(calendarBusyBlocks.startsAt)} || ',' || ${epochMs(calendarBusyBlocks.endsAt)} || ']', ',')
      from ${calendarBusyBlocks}
      where ${calendarBusyBlocks.librarianId} = ${librarianId}
        and ${calendarBusyBlocks.startsAt} < ${startsBefore}::timestamptz
        and ${calendarBusyBlocks.endsAt} > ${heldAfter}::timestamptz),
    (select '[' || ${epochMs(heldAfter)} || ',' || ${epochMs(startsBefore)} || ']'
      where exists (select 1 from ${calendarConnections}
        where ${calendarConnections.librarianId} = ${librarianId}
          and ${calendarConnections.lastError} is not null
          and coalesce(${calendarConnections.lastSuccessAt}, ${calendarConnections.createdAt}) <= ${calendarReadAfter}::timestamptz))), '')`;
