import { createHash } from 'node:crypto';

/** The arm of members who receive nothing: the comparison every arm is measured against. */
export const HOLDOUT = 'holdout';

/**
 * How many of `n` each share gets: each its floor of n × percent / 100, and what is left over one
 * each to the largest remainders (ties to the earlier share). The counts add up to n, and each
 * differs from its exact share by less than one.
 */
export function allocate(n: number, percents: readonly number[]): number[] {
  const exact = percents.map((percent) => (n * percent) / 100);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((sum, count) => sum + count, 0);
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (left <= 0) break;
    counts[index] = (counts[index] as number) + 1;
    left -= 1;
  }
  return counts;
}

/** A member's place in the seeded order: SHA-256 of the seed and their email. */
function draw(seed: string, email: string): string {
  return createHash('sha256').update(`${seed}\u0000${email}`).digest('hex');
}

/**
 * Stratified random assignment. Within each stratum the members are put in a random order drawn
 * from the seed (each member's SHA-256 of seed and email, so the order does not depend on how the
 * cohort was listed), and the arms take their shares of that order in turn (allocate), the holdout
 * last. The same seed and cohort give the same assignment; every arm's share holds in every stratum.
 */
export function assignArms(
  members: readonly { email: string; stratum: string }[],
  arms: readonly { key: string; percent: number }[],
  seed: string,
): Map<string, string> {
  const byStratum = new Map<string, { email: string; key: string }[]>();
  for (const member of members) {
    const list = byStratum.get(member.stratum) ?? [];
    list.push({ email: member.email, key: draw(seed, member.email) });
    byStratum.set(member.stratum, list);
  }
  const assigned = new Map<string, string>();
  for (const list of byStratum.values()) {
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const counts = allocate(
      list.length,
      arms.map((arm) => arm.percent),
    );
    let position = 0;
    arms.forEach((arm, index) => {
      for (let taken = 0; taken < (counts[index] as number); taken++) {
        assigned.set((list[position++] as { email: string }).email, arm.key);
      }
    });
  }
  return assigned;
}
