import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { groupLabeller } from '../../src/modules/uptake/labels.js';
import { loadCatalogues } from '../../src/text/i18n.js';
import { readableCsv } from '../../src/web/analytics/readable-csv.js';

// The pages' CSV downloads, for people: the API's CSV in, a readable one out (issue 29 item 16).

const t = loadCatalogues().translator('en');
const words = groupLabeller([
  { key: 'fee_status', label: 'Fee status', values: [{ value: 'international', label: 'International' }] },
]);

describe('readableCsv', () => {
  it('names columns in words, labels categories, and writes rates as percentages and differences as points', () => {
    const api = [
      'fee_status,withCompanionBookings,withCompanionAttendanceRate,difference,differenceCi95Low,pValue,lowCount,suppressed',
      'international,12,0.8333333333,0.2333333333,-0.1034,0.186543,false,false',
      ',3,,,,,true,true',
    ].join('\r\n');
    const rows = parse(readableCsv(api, ['fee_status'], words, t)) as string[][];
    expect(rows).toEqual([
      [
        'Fee status',
        'With a friend: Bookings',
        'With a friend: Attendance rate (%)',
        'Difference, with minus without (points)',
        'Difference, 95% interval from (points)',
        'p-value',
        'Fewer than 10 bookings on a side',
        'Figures withheld (HESA)',
      ],
      // 10/12 = 83.3%; 0.2333 = +23.3 points; −0.1034 = −10.3 points; p to two significant figures.
      ['International', '12', '83.3', '23.3', '-10.3', '0.19', 'No', 'No'],
      ['Not recorded', '3', '', '', '', '', 'Yes', 'Yes'],
    ]);
  });

  it('names the two sides of before-and-after and the feedback scale points, and the totals row', () => {
    const api = ['fee_status,afterUniqueAttendees,withNervous4,bookings', 'total,20,3,40'].join('\r\n');
    const rows = parse(readableCsv(api, ['fee_status'], words, t)) as string[][];
    expect(rows).toEqual([
      [
        'Fee status',
        'Later period: Students who attended',
        'Students with a friend: How nervous: answered 4',
        'Bookings',
      ],
      ['All', '20', '3', '40'],
    ]);
  });
});
