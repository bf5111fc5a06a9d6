import type { Dimension } from '../categories/schemas.js';

export const PERIODS = ['week', 'month', 'term', 'year'] as const;
export const FIXED_GROUPS = ['companion', 'librarian', 'faculty', 'mode', ...PERIODS] as const;

/** How a group key and its values read on a page or a chart. */
export interface GroupLabeller {
  key(key: string): string;
  value(key: string, value: unknown): string;
}

/** The words a labeller uses for the fixed keys and values (pages pass their language's). */
export interface LabelWords {
  notRecorded: string;
  withFriend: string;
  withoutFriend: string;
  inPerson: string;
  online: string;
  keys: Record<string, string>;
}

export const ENGLISH_WORDS: LabelWords = {
  notRecorded: 'Not recorded',
  withFriend: 'With a friend',
  withoutFriend: 'Without a friend',
  inPerson: 'In person',
  online: 'Online',
  keys: {
    companion: 'Friend',
    librarian: 'Librarian',
    faculty: 'Faculty',
    mode: 'Mode',
    week: 'Week',
    month: 'Month',
    term: 'Term',
    year: 'Academic year',
    all: 'All sessions',
  },
};
/** Labels for group values as people read them: category labels, not keys. Pure. */
export function groupLabeller(definitions: Dimension[], words: LabelWords = ENGLISH_WORDS): GroupLabeller {
  const labels = new Map(
    definitions.flatMap((dimension) =>
      dimension.values.map((value) => [`${dimension.key}|${value.value}`, value.label]),
    ),
  );
  const dimensionLabels = new Map(definitions.map((dimension) => [dimension.key, dimension.label]));
  return {
    key: (key) => dimensionLabels.get(key) ?? words.keys[key] ?? key.replace(/_/g, ' '),
    value: (key, value) => {
      if (value === null || value === undefined) return words.notRecorded;
      if (key === 'companion') return value === true ? words.withFriend : words.withoutFriend;
      if (key === 'mode')
        return value === 'in_person' ? words.inPerson : value === 'online' ? words.online : String(value);
      return labels.get(`${key}|${value}`) ?? String(value);
    },
  };
}
