import type { TestContext } from './app.js';

/** Monday-to-Friday 09:00–12:00 (60-minute slots) and the librarian's sign-in email. */
export async function createLibrarianWithWeek(
  t: TestContext,
  options: {
    email?: string;
    name?: string;
    timeZone?: string;
    bufferMinutes?: number;
    maxCompanions?: number;
    minNoticeMinutes?: number;
    slotMinutes?: number;
    weekly?: { weekday: number; start: string; end: string; mode?: 'in_person' | 'online' }[];
  } = {},
) {
  const email = options.email ?? `librarian-${Math.random().toString(36).slice(2)}@uni.ac.uk`;
  const admin = await t.auth('admin');
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/librarians',
    headers: admin,
    payload: {
      email,
      name: options.name ?? 'Ada Lovelace',
      modes: ['in_person', 'online'],
      location: 'Main Library, room 2.14',
      meetingUrl: 'https://meet.example.ac.uk/ada',
    },
  });
  if (created.statusCode !== 201) throw new Error(`creating a librarian failed: ${created.body}`);
  const id = created.json().id as string;
  const week = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/librarians/${id}/availability`,
    headers: admin,
    payload: {
      timeZone: options.timeZone ?? 'Europe/London',
      slotMinutes: options.slotMinutes ?? 60,
      bufferMinutes: options.bufferMinutes ?? 0,
      minNoticeMinutes: options.minNoticeMinutes ?? 60,
      horizonDays: 90,
      maxCompanions: options.maxCompanions ?? 1,
      weekly: options.weekly ?? [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
    },
  });
  if (week.statusCode !== 200) throw new Error(`setting availability failed: ${week.body}`);
  return { id, email };
}
