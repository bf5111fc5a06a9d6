import { type Cell, toCsv } from '../uptake/csv.js';
import { HESA_MIN_GROUP_STUDENTS } from '../uptake/disclosure.js';
import type { FeedbackGroup, FeedbackReport, NervesGroup, NervesReport } from './schemas.js';

const groupHeader = (prefix: string) => [
  `${prefix}Requests`,
  `${prefix}Responses`,
  `${prefix}ResponseRate`,
  ...['Nervous', 'Useful'].flatMap((question) => [
    `${prefix}${question}Answered`,
    `${prefix}${question}Mean`,
    ...[1, 2, 3, 4, 5].map((point) => `${prefix}${question}${point}`),
    `${prefix}${question}High`,
    `${prefix}${question}HighCi95Low`,
    `${prefix}${question}HighCi95High`,
  ]),
];

function groupCells(group: FeedbackGroup): Cell[] {
  return [
    group.requests,
    group.responses,
    group.responseRate,
    ...[group.nervous, group.useful].flatMap((scale) => [
      scale.answered,
      scale.mean,
      ...scale.distribution,
      scale.highShare,
      scale.highShareCi95?.[0] ?? null,
      scale.highShareCi95?.[1] ?? null,
    ]),
  ];
}

/** One row per category value; with disclosure=hesa a value with fewer than 5 students on a side is blanked. */
export function feedbackCsv(report: FeedbackReport, studentCounts: number[]): string {
  const header = [
    report.by,
    ...groupHeader('with'),
    ...groupHeader('without'),
    'nervousHighDifference',
    'nervousHighDifferenceCi95Low',
    'nervousHighDifferenceCi95High',
    'usefulHighDifference',
    'usefulHighDifferenceCi95Low',
    'usefulHighDifferenceCi95High',
    ...groupHeader('friends'),
    'friendsBookMyselfYes',
    'friendsBookMyselfMaybe',
    'friendsBookMyselfNo',
    'friendsBookMyselfYesShare',
    'suppressed',
  ];
  return toCsv(
    header,
    report.rows.map((row, index) => {
      const figures: Cell[] = [
        ...groupCells(row.withCompanion),
        ...groupCells(row.withoutCompanion),
        row.nervousHighDifference,
        row.nervousHighDifferenceCi95?.[0] ?? null,
        row.nervousHighDifferenceCi95?.[1] ?? null,
        row.usefulHighDifference,
        row.usefulHighDifferenceCi95?.[0] ?? null,
        row.usefulHighDifferenceCi95?.[1] ?? null,
        ...groupCells(row.companions),
        row.companions.bookMyself.yes,
        row.companions.bookMyself.maybe,
        row.companions.bookMyself.no,
        row.companions.bookMyself.yesShare,
      ];
      const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
      return [row.value, ...(suppressed ? figures.map(() => null) : figures), suppressed];
    }),
  );
}

/** Did nerves fall: one row per category value, with and without a friend; HESA suppresses values with under 5 students. */
export function nervesCsv(report: NervesReport, studentCounts: number[]): string {
  const side = (prefix: string) =>
    [
      'Pairs',
      'MeanBefore',
      'MeanAfter',
      'MeanChange',
      'MeanChangeCi95Low',
      'MeanChangeCi95High',
      'Fell',
      'FellShare',
      'FellShareCi95Low',
      'FellShareCi95High',
    ].map((name) => `${prefix}${name}`);
  const cells = (group: NervesGroup): Cell[] => [
    group.pairs,
    group.meanBefore,
    group.meanAfter,
    group.meanChange,
    group.meanChangeCi95?.[0] ?? null,
    group.meanChangeCi95?.[1] ?? null,
    group.fell,
    group.fellShare,
    group.fellShareCi95?.[0] ?? null,
    group.fellShareCi95?.[1] ?? null,
  ];
  return toCsv(
    [report.by, ...side('withCompanion'), ...side('withoutCompanion'), 'suppressed'],
    report.rows.map((row, index) => {
      const suppressed = report.disclosure === 'hesa' && (studentCounts[index] ?? 0) < HESA_MIN_GROUP_STUDENTS;
      const figures = [...cells(row.withCompanion), ...cells(row.withoutCompanion)];
      return [row.value, ...(suppressed ? figures.map(() => null) : figures), suppressed];
    }),
  );
}
