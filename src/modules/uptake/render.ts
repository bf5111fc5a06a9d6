import { type Cell, toCsv } from './csv.js';
import { HESA_MIN_GROUP_STUDENTS } from './disclosure.js';
import type { CompanionEffectReport, CompareReport, FriendsLaterReport, UptakeReport } from './schemas.js';

/** The uptake CSV's figure columns, in order (the pages' readable download names each). */
export const FIGURES = [
  'bookings',
  'cancelled',
  'lateCancelled',
  'attended',
  'noShow',
  'unrecorded',
  'upcoming',
  'attendanceRate',
  'attendanceRateCi95Low',
  'attendanceRateCi95High',
  'uniqueStudents',
  'uniqueAttendees',
  'uptakeRate',
  'supportBookings',
] as const;

type Figures = UptakeReport['totals'];

function figureCells(figures: Figures): Cell[] {
  return [
    figures.bookings,
    figures.cancelled,
    figures.lateCancelled,
    figures.attended,
    figures.noShow,
    figures.unrecorded,
    figures.upcoming,
    figures.attendanceRate,
    figures.attendanceRateCi95?.[0] ?? null,
    figures.attendanceRateCi95?.[1] ?? null,
    figures.uniqueStudents,
    figures.uniqueAttendees,
    figures.uptakeRate,
    figures.supportBookings,
  ];
}

/**
 * One row per group, stable column names, then a totals row. With disclosure=hesa a group of
 * fewer than 5 students keeps its labels but loses its figures (suppressed = true).
 */
export function uptakeCsv(report: UptakeReport, studentCounts: number[]): string {
  const header = [...report.groupBy, ...FIGURES, 'suppressed'];
  const rows = report.rows.map((row, index) => {
    const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
    const labels = report.groupBy.map((key) => row.group[key] ?? null);
    return [...labels, ...(suppressed ? FIGURES.map(() => null) : figureCells(row)), suppressed];
  });
  const totals = [
    ...report.groupBy.map((_, index) => (index === 0 ? 'total' : null)),
    ...figureCells(report.totals),
    false,
  ];
  return toCsv(header, [...rows, ...(report.groupBy.length > 0 ? [totals] : [[...figureCells(report.totals), false]])]);
}

/** With disclosure=hesa, a category value with fewer than 5 students keeps its label but loses its figures. */
export function companionEffectCsv(report: CompanionEffectReport, studentCounts: number[]): string {
  const side = (prefix: string) => [
    `${prefix}Bookings`,
    `${prefix}Attended`,
    `${prefix}NoShow`,
    `${prefix}AttendanceRate`,
    `${prefix}Ci95Low`,
    `${prefix}Ci95High`,
  ];
  const header = [
    report.by,
    ...side('withCompanion'),
    ...side('withoutCompanion'),
    'difference',
    'differenceCi95Low',
    'differenceCi95High',
    'pValue',
    'companionShare',
    'lowCount',
    'suppressed',
  ];
  const cells = (figures: CompanionEffectReport['rows'][number]['withCompanion']): Cell[] => [
    figures.bookings,
    figures.attended,
    figures.noShow,
    figures.attendanceRate,
    figures.attendanceRateCi95?.[0] ?? null,
    figures.attendanceRateCi95?.[1] ?? null,
  ];
  return toCsv(
    header,
    report.rows.map((row, index) => {
      const figures: Cell[] = [
        ...cells(row.withCompanion),
        ...cells(row.withoutCompanion),
        row.difference,
        row.differenceCi95?.[0] ?? null,
        row.differenceCi95?.[1] ?? null,
        row.pValue,
        row.companionShare,
        row.lowCount,
      ];
      const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
      return [row.value, ...(suppressed ? figures.map(() => null) : figures), suppressed];
    }),
  );
}

/** Before and after, one row per category value; with disclosure=hesa a value with fewer than 5 students in either period loses its figures. */
export function compareCsv(report: CompareReport, studentCounts: number[]): string {
  const side = (prefix: string) => [
    `${prefix}Bookings`,
    `${prefix}UniqueStudents`,
    `${prefix}UniqueAttendees`,
    `${prefix}CohortSize`,
    `${prefix}UptakeRate`,
    `${prefix}UptakeCi95Low`,
    `${prefix}UptakeCi95High`,
  ];
  const header = [
    report.by,
    ...side('before'),
    ...side('after'),
    'attendeesChange',
    'uptakeChange',
    'uptakeChangeCi95Low',
    'uptakeChangeCi95High',
    'pValue',
    'suppressed',
  ];
  const cells = (figures: CompareReport['rows'][number]['before']): Cell[] => [
    figures.bookings,
    figures.uniqueStudents,
    figures.uniqueAttendees,
    figures.cohortSize,
    figures.uptakeRate,
    figures.uptakeRateCi95?.[0] ?? null,
    figures.uptakeRateCi95?.[1] ?? null,
  ];
  return toCsv(
    header,
    report.rows.map((row, index) => {
      const figures: Cell[] = [
        ...cells(row.before),
        ...cells(row.after),
        row.attendeesChange,
        row.uptakeChange,
        row.uptakeChangeCi95?.[0] ?? null,
        row.uptakeChangeCi95?.[1] ?? null,
        row.pValue,
      ];
      const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
      return [row.value, ...(suppressed ? figures.map(() => null) : figures), suppressed];
    }),
  );
}

/** The friends-later CSV's figure columns, in order (the pages' readable download names each). */
export const FRIENDS_LATER_FIGURES = [
  'friends',
  'bookedLater',
  'bookedLaterRate',
  'bookedLaterRateCi95Low',
  'bookedLaterRateCi95High',
  'attendedLater',
  'attendedLaterRate',
  'attendedLaterRateCi95Low',
  'attendedLaterRateCi95High',
  'saidCameAsFriend',
] as const;

/** What the friends did next, one row per category value (or the totals alone); HESA suppresses values with under 5 people. */
export function friendsLaterCsv(report: FriendsLaterReport, studentCounts: number[]): string {
  const header = [report.by ?? 'group', ...FRIENDS_LATER_FIGURES, 'suppressed'];
  const cells = (figures: FriendsLaterReport['totals']): Cell[] => [
    figures.friends,
    figures.bookedLater,
    figures.bookedLaterRate,
    figures.bookedLaterRateCi95?.[0] ?? null,
    figures.bookedLaterRateCi95?.[1] ?? null,
    figures.attendedLater,
    figures.attendedLaterRate,
    figures.attendedLaterRateCi95?.[0] ?? null,
    figures.attendedLaterRateCi95?.[1] ?? null,
    figures.saidCameAsFriend,
  ];
  const rows = report.rows.map((row, index) => {
    const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
    const figures = cells(row);
    return [row.value, ...(suppressed ? figures.map(() => null) : figures), suppressed];
  });
  return toCsv(header, [...rows, ['total', ...cells(report.totals), false]]);
}
