import { count } from 'drizzle-orm';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { librarians as librariansTable } from '../db/schema.js';
import type { PutAvailability } from '../modules/availability/schemas.js';
import { createAvailabilityService } from '../modules/availability/service.js';
import { librarianBusyRanges } from '../modules/bookings/repository.js';
import { calendarBusyRanges } from '../modules/calendars/busy-ranges.js';
import type { CreateLibrarian } from '../modules/librarians/schemas.js';
import { createLibrarianService } from '../modules/librarians/service.js';
import { waitlistHolds } from '../modules/waitlist/holds.js';
import { systemClock } from '../time/clock.js';
import { runCommand } from './command.js';

const DEMO: { librarian: CreateLibrarian; availability: PutAvailability }[] = [
  {
    librarian: {
      email: 'amara.okafor@library.example.ac.uk',
      name: 'Amara Okafor',
      subjects: ['Law', 'Criminology'],
      faculty: 'Social Sciences',
      modes: ['in_person', 'online'],
      location: 'Main Library, Consultation Room 2',
      meetingUrl: 'https://meet.example.ac.uk/amara-okafor',
    },
    availability: {
      slotMinutes: 45,
      bufferMinutes: 15,
      minNoticeMinutes: 240,
      horizonDays: 42,
      maxCompanions: 1,
      weekly: [
        { weekday: 1, start: '10:00', end: '13:00' },
        { weekday: 2, start: '14:00', end: '17:00', mode: 'online' },
        { weekday: 4, start: '10:00', end: '12:15' },
      ],
    },
  },
  {
    librarian: {
      email: 'tom.hughes@library.example.ac.uk',
      name: 'Tom Hughes',
      subjects: ['Engineering', 'Computer Science', 'Mathematics'],
      faculty: 'Science and Engineering',
      location: 'Science Library, Level 1 help desk',
    },
    availability: {
      slotMinutes: 30,
      bufferMinutes: 0,
      minNoticeMinutes: 120,
      horizonDays: 28,
      maxCompanions: 2,
      weekly: [
        { weekday: 1, start: '14:00', end: '16:00' },
        { weekday: 3, start: '09:30', end: '12:30' },
        { weekday: 5, start: '13:00', end: '15:00' },
      ],
    },
  },
  {
    librarian: {
      email: 'mei.lin@library.example.ac.uk',
      name: 'Mei Lin',
      subjects: ['Business', 'Economics', 'International Studies'],
      faculty: 'Business School',
      modes: ['online'],
      meetingUrl: 'https://meet.example.ac.uk/mei-lin',
    },
    availability: {
      slotMinutes: 60,
      bufferMinutes: 10,
      minNoticeMinutes: 60,
      horizonDays: 60,
      maxCompanions: 1,
      weekly: [
        { weekday: 2, start: '09:00', end: '12:00' },
        { weekday: 3, start: '16:00', end: '19:00' },
        { weekday: 4, start: '13:00', end: '16:00' },
      ],
    },
  },
];

/** Fills an empty database with a few librarians and a realistic week of availability. */
const USAGE = `
npm run seed-demo: add three demo librarians with a few weeks of availability (once; skipped when librarians exist).
Uses DATABASE_URL, or the embedded database in DATA_DIR (stop the server first: one process at a time).`;

async function main() {
  const config = loadConfig();
  const handle = await openDatabase(config, { max: 2 });
  try {
    await runMigrations(handle);
    const [existing] = await handle.db.select({ total: count() }).from(librariansTable);
    if ((existing?.total ?? 0) > 0) {
      console.log(`The database already has librarians (${existing?.total}); seed-demo only fills an empty one.`);
      return;
    }
    const librarians = createLibrarianService({ db: handle.db, clock: systemClock, config });
    const availability = createAvailabilityService({
      db: handle.db,
      clock: systemClock,
      config,
      librarians,
      busyRanges: [librarianBusyRanges, calendarBusyRanges, waitlistHolds],
    });
    // The staff record names whoever ran this command as the one who made the changes.
    const actor = { sub: 'npm run seed-demo', email: null };
    for (const demo of DEMO) {
      const librarian = await librarians.create(demo.librarian, actor);
      await availability.put(librarian.id, demo.availability, actor);
      console.log(`${librarian.name.padEnd(14)} ${librarian.id}  (${demo.librarian.email})`);
    }
    console.log('\nSee their slots, e.g.:');
    console.log(`  curl "http://localhost:${config.port}/api/v1/librarians"`);
  } finally {
    await handle.close();
  }
}

runCommand(USAGE, main, () => loadConfig().databaseUrl);
