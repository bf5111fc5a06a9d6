import { createAggregation, type Row, type UptakeDeps } from './aggregation.js';
import { createCohorts } from './cohorts.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from './disclosure.js';
import { createEffortFigures } from './effort.js';
import { badQuery } from './filters.js';
import { ENGLISH_WORDS, type GroupLabeller, groupLabeller, type LabelWords } from './labels.js';
import { createRipple } from './ripple.js';
import type {
  CompanionEffectQuery,
  CompanionEffectReport,
  CompareQuery,
  CompareReport,
  UptakeQuery,
  UptakeReport,
} from './schemas.js';
import { newcombeInterval, rate, twoProportionPValue, wilsonInterval } from './statistics.js';

export { COMPANION_BOOKINGS, MAX_GROUPS } from './aggregation.js';
export { ENGLISH_WORDS, type GroupLabeller, groupLabeller, type LabelWords } from './labels.js';

/** Uptake figures, the companion effect and comparisons between periods, for the API and the pages. */
export function createUptakeService(deps: UptakeDeps) {
  const { prepare, aggregate, figures, cohortSizes } = createAggregation(deps);
  const { periodCohorts, fillGroups } = createCohorts(deps);
  const friendsLater = createRipple(deps);
  const effort = createEffortFigures(deps);

  return {
    friendsLater,
    effort,

    async uptake(query: UptakeQuery): Promise<UptakeReport & { studentCounts: number[] }> {
      const groupBy = (query.groupBy ?? '')
        .split(',')
        .map((key) => key.trim())
        .filter(Boolean);
      const { where, definitions, dimensions, categoryFilters } = await prepare(query, groupBy);
      const hesa = query.disclosure === 'hesa';
      const aggregated = await aggregate(where, groupBy);
      let rows = aggregated.rows;
      if (query.fill) rows = await fillGroups(rows, groupBy, definitions, query);
      const totalsRow = aggregated.totals;
      const sizes = await cohortSizes();
      // A cohort size applies when a row is one term and one value of one category dimension.
      const groupDimensions = groupBy.filter((key) => dimensions.includes(key));
      const filterDimensions = Object.keys(categoryFilters);
      const cohortDimension =
        groupBy.includes('term') && groupDimensions.length + filterDimensions.length === 1
          ? (groupDimensions[0] ?? filterDimensions[0])
          : undefined;
      const reportRows = rows.map((row) => {
        const group = Object.fromEntries(
          groupBy.map((key, index) => [key, (row[`g${index}`] as string | boolean | null) ?? null]),
        );
        let size: number | null = null;
        if (cohortDimension) {
          const value = groupDimensions.length > 0 ? group[cohortDimension] : categoryFilters[cohortDimension];
          size = sizes.get(`${group.term}|${cohortDimension}|${value}`) ?? null;
        }
        return { group, ...figures(row, size, hesa) };
      });
      return {
        from: query.from,
        to: query.to,
        groupBy,
        disclosure: hesa ? 'hesa' : 'none',
        rows: reportRows,
        totals: figures(totalsRow, null, hesa),
        studentCounts: rows.map((row) => Number(row.unique_students ?? 0)),
      };
    },

    async companionEffect(query: CompanionEffectQuery): Promise<CompanionEffectReport & { studentCounts: number[] }> {
      const { where, dimensions } = await prepare(query, []);
      if (!dimensions.includes(query.by)) throw badQuery('/by', `must be one of ${dimensions.join(', ')}`);
      const hesa = query.disclosure === 'hesa';
      const { rows } = await aggregate(where, [query.by, 'companion']);
      const values = [...new Set(rows.map((row) => (row.g0 as string | null) ?? null))];
      // Students per category value (either side), for suppressing small groups in shared CSV.
      const perValue = hesa ? (await aggregate(where, [query.by])).rows : [];
      const studentCounts = values.map((value) =>
        Number(perValue.find((row) => (row.g0 ?? null) === value)?.unique_students ?? 0),
      );
      return {
        studentCounts,
        by: query.by,
        from: query.from,
        to: query.to,
        disclosure: hesa ? 'hesa' : 'none',
        rows: values.map((value) => {
          const side = (withCompanion: boolean) => {
            const row =
              rows.find((candidate) => (candidate.g0 ?? null) === value && candidate.g1 === withCompanion) ?? {};
            return {
              bookings: Number(row.bookings ?? 0),
              attended: Number(row.attended ?? 0),
              noShow: Number(row.no_show ?? 0),
            };
          };
          const withC = side(true);
          const without = side(false);
          const n1 = withC.attended + withC.noShow;
          const n2 = without.attended + without.noShow;
          const showRates = !hesa || (n1 >= HESA_MIN_DENOMINATOR && n2 >= HESA_MIN_DENOMINATOR);
          const present = (counts: typeof withC, n: number) => ({
            bookings: hesa ? roundHesa(counts.bookings) : counts.bookings,
            attended: hesa ? roundHesa(counts.attended) : counts.attended,
            noShow: hesa ? roundHesa(counts.noShow) : counts.noShow,
            attendanceRate: !hesa || n >= HESA_MIN_DENOMINATOR ? rate(counts.attended, n) : null,
            attendanceRateCi95: !hesa || n >= HESA_MIN_DENOMINATOR ? wilsonInterval(counts.attended, n) : null,
          });
          const r1 = rate(withC.attended, n1);
          const r2 = rate(without.attended, n2);
          const total = withC.bookings + without.bookings;
          return {
            value,
            withCompanion: present(withC, n1),
            withoutCompanion: present(without, n2),
            difference: showRates && r1 !== null && r2 !== null ? r1 - r2 : null,
            differenceCi95: showRates ? newcombeInterval(withC.attended, n1, without.attended, n2) : null,
            pValue: showRates ? twoProportionPValue(withC.attended, n1, without.attended, n2) : null,
            companionShare: !hesa || total >= HESA_MIN_DENOMINATOR ? rate(withC.bookings, total) : null,
            lowCount: withC.bookings < 10 || without.bookings < 10,
          };
        }),
      };
    },

    /**
     * The library's before-and-after question: per value of one category, unique attendees in two
     * periods, uptake against the cohort sizes of the terms each period overlaps, and the change in
     * uptake with Newcombe's interval for two independent proportions.
     */
    async compare(query: CompareQuery): Promise<CompareReport & { studentCounts: number[] }> {
      const { by, beforeFrom, beforeTo, afterFrom, afterTo, format: _format, disclosure, ...filters } = query;
      if (beforeTo < beforeFrom) throw badQuery('/beforeTo', 'must be on or after beforeFrom');
      if (afterTo < afterFrom) throw badQuery('/afterTo', 'must be on or after afterFrom');
      if (afterFrom <= beforeTo) {
        throw badQuery('/afterFrom', 'must be after beforeTo: the two periods are compared as separate groups');
      }
      const hesa = disclosure === 'hesa';
      const definitions = await deps.categories.listDimensions();
      const dimensions = definitions.map((dimension) => dimension.key);
      if (!dimensions.includes(by)) throw badQuery('/by', `must be one of ${dimensions.join(', ')}`);
      const before = await prepare({ ...filters, from: beforeFrom, to: beforeTo }, [by], definitions);
      const after = await prepare({ ...filters, from: afterFrom, to: afterTo }, [by], definitions);
      const [beforeRows, afterRows] = [
        (await aggregate(before.where, [by])).rows,
        (await aggregate(after.where, [by])).rows,
      ];
      const known = before.definitions.find((dimension) => dimension.key === by)?.values.map((v) => v.value) ?? [];
      const seen = [...beforeRows, ...afterRows].map((row) => (row.g0 as string | null) ?? null);
      const values: (string | null)[] = [...known, ...seen.filter((value) => value !== null && !known.includes(value))];
      if (seen.includes(null)) values.push(null);
      const beforeCohort = await periodCohorts(by, beforeFrom, beforeTo);
      const afterCohort = await periodCohorts(by, afterFrom, afterTo);
      const count = (value: number) => (hesa ? roundHesa(value) : value);
      const side = (rows: Row[], cohort: Map<string, number>, value: string | null) => {
        const row = rows.find((candidate) => (candidate.g0 ?? null) === value) ?? {};
        const attendees = Number(row.unique_attendees ?? 0);
        const size = value === null ? null : (cohort.get(value) ?? null);
        const usable = size !== null && size > 0 && (!hesa || size >= HESA_MIN_DENOMINATOR);
        return {
          raw: { attendees, students: Number(row.unique_students ?? 0), size: usable ? size : null },
          figures: {
            bookings: count(Number(row.bookings ?? 0)),
            uniqueStudents: count(Number(row.unique_students ?? 0)),
            uniqueAttendees: count(attendees),
            cohortSize: size === null ? null : hesa ? roundHesa(size) : size,
            uptakeRate: usable ? rate(Math.min(attendees, size), size) : null,
            uptakeRateCi95: usable ? wilsonInterval(Math.min(attendees, size), size) : null,
          },
        };
      };
      const rows = values.map((value) => {
        const earlier = side(beforeRows, beforeCohort.sizes, value);
        const later = side(afterRows, afterCohort.sizes, value);
        const a = earlier.raw;
        const b = later.raw;
        const both = a.size !== null && b.size !== null;
        const k1 = Math.min(b.attendees, b.size ?? 0);
        const k2 = Math.min(a.attendees, a.size ?? 0);
        return {
          studentCount: Math.min(a.students, b.students),
          row: {
            value,
            before: earlier.figures,
            after: later.figures,
            attendeesChange: later.figures.uniqueAttendees - earlier.figures.uniqueAttendees,
            uptakeChange:
              both && later.figures.uptakeRate !== null && earlier.figures.uptakeRate !== null
                ? later.figures.uptakeRate - earlier.figures.uptakeRate
                : null,
            uptakeChangeCi95: both ? newcombeInterval(k1, b.size as number, k2, a.size as number) : null,
            pValue: both ? twoProportionPValue(k1, b.size as number, k2, a.size as number) : null,
          },
        };
      });
      return {
        by,
        before: { from: beforeFrom, to: beforeTo, terms: beforeCohort.terms },
        after: { from: afterFrom, to: afterTo, terms: afterCohort.terms },
        disclosure: hesa ? 'hesa' : 'none',
        rows: rows.map((entry) => entry.row),
        studentCounts: rows.map((entry) => entry.studentCount),
      };
    },

    /** Labels for group values as people read them: category labels, not keys. */
    async labeller(words: LabelWords = ENGLISH_WORDS): Promise<GroupLabeller> {
      return groupLabeller(await deps.categories.listDimensions(), words);
    },
  };
}

export type UptakeService = ReturnType<typeof createUptakeService>;
