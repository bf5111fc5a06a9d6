/**
 * Rows split by category value and by friend, each side summarised by `group`: the values in the
 * dimension's own order, then values no longer defined and "not recorded" (null), only those seen.
 */
export function byValueAndCompanion<R extends { value: string | null; with_companion: boolean }, G>(
  rows: readonly R[],
  known: readonly string[],
  group: (rows: R[]) => G,
) {
  const seen = rows.map((row) => row.value);
  const values = [...known, ...new Set(seen.filter((value) => value === null || !known.includes(value)))].filter(
    (value) => seen.includes(value),
  );
  const side = (value: string | null, withCompanion: boolean) =>
    group(rows.filter((row) => row.value === value && row.with_companion === withCompanion));
  return {
    values,
    rows: values.map((value) => ({ value, withCompanion: side(value, true), withoutCompanion: side(value, false) })),
    totals: {
      withCompanion: group(rows.filter((row) => row.with_companion)),
      withoutCompanion: group(rows.filter((row) => !row.with_companion)),
    },
  };
}
