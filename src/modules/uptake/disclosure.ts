/** HESA-style rounding: to the nearest multiple of 5, with 0, 1 and 2 rounded to 0. */
export function roundHesa(count: number): number {
  return count <= 2 ? 0 : Math.round(count / 5) * 5;
}

/** HESA practice: no percentage or rate is published on a denominator under 23. */
export const HESA_MIN_DENOMINATOR = 23;

/** Groups of fewer students than this are suppressed in shared (disclosure=hesa) CSV. */
export const HESA_MIN_GROUP_STUDENTS = 5;
