import { spawnSync } from 'node:child_process';

/** What Python's icalendar library (Debian's python3-icalendar) reads in a calendar. */
export interface PythonCalendar {
  calendarProperties: string[];
  events: {
    uid: string;
    dtstamp: string;
    dtstampIsUtc: boolean;
    dtstart: string;
    organizer: string;
    attendees: { address: string; role: string | null; partstat: string | null; cn: string | null; params: string[] }[];
  }[];
}

const SCRIPT = `
import json, sys
from datetime import timezone
from icalendar import Calendar
calendar = Calendar.from_ical(sys.stdin.read())
events = []
for event in calendar.walk('VEVENT'):
    stamp = event.decoded('DTSTAMP')
    attendees = event.get('ATTENDEE') or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    events.append({
        'uid': str(event.get('UID')),
        'dtstamp': stamp.isoformat(),
        'dtstampIsUtc': stamp.tzinfo is not None and stamp.utcoffset().total_seconds() == 0,
        'dtstart': event.decoded('DTSTART').isoformat(),
        'organizer': str(event.get('ORGANIZER')),
        'attendees': [{
            'address': str(a),
            'role': a.params.get('ROLE'),
            'partstat': a.params.get('PARTSTAT'),
            'cn': a.params.get('CN'),
            'params': sorted(a.params.keys()),
        } for a in attendees],
    })
print(json.dumps({'calendarProperties': sorted(calendar.keys()), 'events': events}))
`;

/** Parses iCalendar text with a second, independent parser (Python's icalendar). */
export function parseWithPython(ics: string): PythonCalendar {
  const result = spawnSync('/usr/bin/python3', ['-c', SCRIPT], { input: ics, encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`python icalendar failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PythonCalendar;
}
