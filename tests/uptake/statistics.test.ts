import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from '../../src/modules/uptake/csv.js';
import { roundHesa } from '../../src/modules/uptake/disclosure.js';
import { periodLabels } from '../../src/modules/uptake/periods.js';
import {
  meanWithInterval,
  newcombeInterval,
  normalCdf,
  rate,
  tQuantile975,
  twoProportionPValue,
  wilsonInterval,
} from '../../src/modules/uptake/statistics.js';

const close = (actual: number | null | undefined, expected: number, digits = 4) =>
  expect(actual).toBeCloseTo(expected, digits);

describe('statistics against published worked examples', () => {
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0.0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('gives the Wilson interval for %i/%i as in Newcombe (1998a), table I', (k, n, lo, hi) => {
    const interval = wilsonInterval(k, n);
    close(interval?.[0], lo);
    close(interval?.[1], hi);
  });

  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
  ])(
    'gives Newcombe’s hybrid score interval for %i/%i − %i/%i as in Newcombe (1998b), method 10',
    (k1, n1, k2, n2, lo, hi) => {
      const interval = newcombeInterval(k1, n1, k2, n2);
      close(interval?.[0], lo);
      close(interval?.[1], hi);
    },
  );

  it('gives the pooled two-proportion z-test p-value (56/70 vs 48/80: z = 2.650, p = 0.00805)', () => {
    close(twoProportionPValue(56, 70, 48, 80), 0.008045, 5);
    close(normalCdf(1.959963984540054), 0.975, 6);
    close(normalCdf(0), 0.5, 7);
  });

  it('returns null, never NaN, without a denominator', () => {
    expect(rate(0, 0)).toBeNull();
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(newcombeInterval(1, 2, 0, 0)).toBeNull();
    expect(twoProportionPValue(0, 0, 1, 2)).toBeNull();
    expect(twoProportionPValue(3, 3, 5, 5)).toBeNull();
  });

  it('keeps Wilson intervals inside [0, 1] around the estimate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, share) => {
        const k = Math.round(share * n);
        const [lo, hi] = wilsonInterval(k, n) as [number, number];
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
        expect(lo).toBeLessThanOrEqual(k / n + 1e-12);
        expect(hi).toBeGreaterThanOrEqual(k / n - 1e-12);
      }),
    );
  });
});

describe('disclosure control and CSV', () => {
  it('rounds counts to the nearest 5, with 0, 1 and 2 to 0', () => {
    expect([0, 1, 2, 3, 4, 5, 7, 8, 12, 13, 102].map(roundHesa)).toEqual([0, 0, 0, 5, 5, 5, 5, 10, 10, 15, 100]);
  });

  it('quotes per RFC 4180 and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const dangerous of ['+1', '-1+2', '@SUM(A1)']) expect(csvField(dangerous)).toBe(`'${dangerous}`);
    expect(csvField(-0.25)).toBe('-0.25');
    expect(csvField(null)).toBe('');
    expect(toCsv(['a', 'b'], [[1, 'x']])).toBe('a,b\r\n1,x\r\n');
  });
});

describe('period labels for filling empty groups', () => {
  it('names ISO weeks across a 53-week year, months and academic years as the SQL does', () => {
    expect(periodLabels('week', '2026-12-28', '2027-01-04', 8)).toEqual(['2026-W53', '2027-W01']);
    expect(periodLabels('month', '2027-01-31', '2027-03-01', 8)).toEqual(['2027-01', '2027-02', '2027-03']);
    expect(periodLabels('year', '2027-07-31', '2027-08-01', 8)).toEqual(['2026/27', '2027/28']);
    expect(periodLabels('year', '2099-09-01', '2100-01-01', 9)).toEqual(['2099/00']);
  });
});

describe("Student's t, 0.975 quantile", () => {
  // Published table values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
  it.each([
    [1, 12.706],
    [2, 4.303],
    [5, 2.571],
    [10, 2.228],
    [30, 2.042],
    [40, 2.021],
    [60, 2.0],
    [120, 1.98],
  ])('for %i degrees of freedom is %f', (df, expected) => {
    expect(tQuantile975(df)).toBeCloseTo(expected, 3);
  });

  it('gives a mean with no interval from one value, and none from none', () => {
    expect(meanWithInterval([])).toEqual({ mean: null, ci95: null });
    expect(meanWithInterval([3])).toEqual({ mean: 3, ci95: null });
    // 1, 2, 3: mean 2, s = 1, s.e. 1/√3 = 0.5774, t(2) = 4.303: 2 ± 2.4843.
    const { mean, ci95 } = meanWithInterval([1, 2, 3]);
    expect(mean).toBe(2);
    expect(ci95?.[0]).toBeCloseTo(-0.4843, 3);
    expect(ci95?.[1]).toBeCloseTo(4.4843, 3);
  });
});
