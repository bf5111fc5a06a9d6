import { describe, expect, it } from 'vitest';
import { loadCatalogues } from '../../src/text/i18n.js';
import { compareSentence, effectSentence, pValueWords } from '../../src/web/analytics/sentences.js';

// The plain-English reading of the companion effect and of before-and-after: the figures are
// literals (Newcombe 1998b, table II, example (a): 56/70 against 48/80), the sentences written out,
// with the decimals of the tables beside them (one place: 80.0%, +5.2 points), so the two agree.

const t = loadCatalogues().translator('en');
const side = (bookings: number, attended: number, noShow: number, rate: number | null) => ({
  bookings,
  attended,
  noShow,
  attendanceRate: rate,
  attendanceRateCi95: rate === null ? null : ([0, 1] as [number, number]),
});

describe('the companion-effect sentence', () => {
  it('says a friend helped when the whole interval is above zero, with the figures', () => {
    const row = {
      value: 'international',
      withCompanion: side(70, 56, 14, 0.8),
      withoutCompanion: side(80, 48, 32, 0.6),
      difference: 0.2,
      differenceCi95: [0.0524, 0.3339],
      pValue: 0.00805,
      companionShare: 70 / 150,
      lowCount: false,
    };
    expect(effectSentence(row, t, 'en-GB')).toBe(
      'Students who brought a friend attended more often: 80.0% against 60.0% without one, 20.0 percentage points higher (95% interval +5.2 to +33.4 points). A difference this large is unlikely to be chance alone (p = 0.008).',
    );
  });

  it('says they attended less often when the whole interval is below zero', () => {
    const row = {
      value: 'home',
      withCompanion: side(80, 48, 32, 0.6),
      withoutCompanion: side(70, 56, 14, 0.8),
      difference: -0.2,
      differenceCi95: [-0.3339, -0.0524],
      pValue: 0.00805,
      companionShare: 80 / 150,
      lowCount: false,
    };
    expect(effectSentence(row, t, 'en-GB')).toBe(
      'Students who brought a friend attended less often: 60.0% against 80.0% without one, 20.0 percentage points lower (95% interval -33.4 to -5.2 points). A difference this large is unlikely to be chance alone (p = 0.008).',
    );
  });

  it('says there is no clear difference when the interval spans zero', () => {
    const row = {
      value: 'home',
      withCompanion: side(15, 12, 3, 0.8),
      withoutCompanion: side(15, 11, 4, 11 / 15),
      difference: 0.8 - 11 / 15,
      differenceCi95: [-0.2404, 0.3578],
      pValue: 0.666,
      companionShare: 0.5,
      lowCount: false,
    };
    expect(effectSentence(row, t, 'en-GB')).toBe(
      'No clear difference: 80.0% attended with a friend and 73.3% without one. The 95% interval for the difference, -24.0 to +35.8 points, includes no difference (p = 0.67).',
    );
  });

  it('refuses to compare fewer than 10 bookings on one side, whatever the rates', () => {
    const row = {
      value: 'international',
      withCompanion: side(5, 5, 0, 1),
      withoutCompanion: side(17, 9, 8, 9 / 17),
      difference: 1 - 9 / 17,
      differenceCi95: [0.05, 0.7],
      pValue: 0.04,
      companionShare: 5 / 22,
      lowCount: true,
    };
    expect(effectSentence(row, t, 'en-GB')).toBe('Fewer than 10 bookings on one side: too few to compare.');
  });

  it('says when nothing is recorded yet, and when disclosure control withholds the rates', () => {
    const base = { value: 'home', difference: null, differenceCi95: null, pValue: null, companionShare: 0.5 };
    expect(
      effectSentence(
        { ...base, withCompanion: side(12, 0, 0, null), withoutCompanion: side(12, 6, 2, 0.75), lowCount: false },
        t,
        'en-GB',
      ),
    ).toBe('No attendance recorded yet on one side: nothing to compare.');
    expect(
      effectSentence(
        { ...base, withCompanion: side(15, 10, 5, null), withoutCompanion: side(20, 15, 5, null), lowCount: false },
        t,
        'en-GB',
        true,
      ),
    ).toBe('Too few recorded sessions on one side to publish rates under HESA disclosure control.');
    // Without HESA disclosure control, its reason is never given.
    expect(
      effectSentence(
        { ...base, withCompanion: side(15, 10, 5, null), withoutCompanion: side(20, 15, 5, null), lowCount: false },
        t,
        'en-GB',
      ),
    ).not.toContain('HESA');
  });

  it('writes p-values to two significant figures, and very small ones as a bound', () => {
    expect(pValueWords(0.00805, t)).toBe('p = 0.008');
    expect(pValueWords(0.0449, t)).toBe('p = 0.045');
    expect(pValueWords(0.5, t)).toBe('p = 0.5');
    expect(pValueWords(0.0004, t)).toBe('p < 0.001');
  });
});

describe('the before-and-after sentence', () => {
  const period = (attendees: number, cohort: number | null, rate: number | null) => ({
    bookings: attendees,
    uniqueStudents: attendees,
    uniqueAttendees: attendees,
    cohortSize: cohort,
    uptakeRate: rate,
    uptakeRateCi95: null,
  });

  it('says uptake rose, with the interval, when the whole interval is above zero', () => {
    const row = {
      value: 'international',
      before: period(48, 80, 0.6),
      after: period(56, 70, 0.8),
      attendeesChange: 8,
      uptakeChange: 0.2,
      uptakeChangeCi95: [0.0524, 0.3339],
      pValue: 0.00805,
    };
    expect(compareSentence(row, t, 'en-GB')).toBe(
      'Uptake rose from 60.0% to 80.0% of the cohort, up 20.0 percentage points (95% interval +5.2 to +33.4 points). A rise this large is unlikely to be chance alone (p = 0.008).',
    );
  });

  it('gives the change in attendees and says what is missing without cohort sizes', () => {
    const row = {
      value: null,
      before: period(0, null, null),
      after: period(1, null, null),
      attendeesChange: 1,
      uptakeChange: null,
      uptakeChangeCi95: null,
      pValue: null,
    };
    expect(compareSentence(row, t, 'en-GB')).toBe(
      'Unique attendees changed by +1. Without cohort sizes for both periods there is no uptake rate: set them under Terms and cohorts.',
    );
  });

  it('never says "from 1% to 1%": equal figures read as no change, and small ones keep their decimal', () => {
    // 6 of 1000 before and 7 of 1000 after: +0.1 points; the interval's ends as given.
    const small = {
      value: 'home',
      before: period(6, 1000, 0.006),
      after: period(7, 1000, 0.007),
      attendeesChange: 1,
      uptakeChange: 0.001,
      uptakeChangeCi95: [-0.0072, 0.0093],
      pValue: 0.78,
    };
    expect(compareSentence(small, t, 'en-GB')).toBe(
      'Uptake went from 0.6% to 0.7% of the cohort. The 95% interval for the change, -0.7 to +0.9 points, includes no change (p = 0.78).',
    );
    const same = { ...small, after: period(6, 1000, 0.006), attendeesChange: 0, uptakeChange: 0 };
    expect(compareSentence(same, t, 'en-GB')).toBe(
      'Uptake stayed at 0.6% of the cohort. The 95% interval for the change, -0.7 to +0.9 points, includes no change (p = 0.78).',
    );
  });

  it('names HESA as the reason for no rate only under HESA, and a cohort of 0 otherwise', () => {
    const row = {
      value: 'home',
      before: period(3, 0, null),
      after: period(4, 0, null),
      attendeesChange: 1,
      uptakeChange: null,
      uptakeChangeCi95: null,
      pValue: null,
    };
    expect(compareSentence(row, t, 'en-GB')).toBe(
      'Unique attendees changed by +1. A cohort size of 0 gives no uptake rate: correct it under Terms and cohorts.',
    );
    expect(compareSentence(row, t, 'en-GB', true)).toContain('HESA disclosure control');
  });
});
