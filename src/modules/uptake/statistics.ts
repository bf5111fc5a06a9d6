/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes erfcc (Chebyshev fit), fractional error < 1.2e-7 everywhere: ample for p-values.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** k / n, or null without a denominator (never NaN). */
export function rate(k: number, n: number): number | null {
  return n > 0 ? k / n : null;
}

/** Wilson score interval for k successes in n trials (Wilson 1927); null when n = 0. */
export function wilsonInterval(k: number, n: number, z = Z_95): [number, number] | null {
  if (n <= 0) return null;
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Interval for p1 − p2 by Newcombe's hybrid score method (Newcombe 1998, method 10), built from
 * the two Wilson intervals; null when either side has no denominator.
 */
export function newcombeInterval(k1: number, n1: number, k2: number, n2: number, z = Z_95): [number, number] | null {
  const w1 = wilsonInterval(k1, n1, z);
  const w2 = wilsonInterval(k2, n2, z);
  if (!w1 || !w2) return null;
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const d = p1 - p2;
  const lower = d - Math.sqrt((p1 - w1[0]) ** 2 + (w2[1] - p2) ** 2);
  const upper = d + Math.sqrt((w1[1] - p1) ** 2 + (p2 - w2[0]) ** 2);
  return [lower, upper];
}

/** Two-sided p-value of the pooled two-proportion z-test; null when undefined (no data, or no variance). */
export function twoProportionPValue(k1: number, n1: number, k2: number, n2: number): number | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const pooled = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (k1 / n1 - k2 / n2) / se;
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
}

/** Student's t, two-sided 95% (the 0.975 quantile), for 1 to 30 degrees of freedom: the published table. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom: the table to 30, then the
 * Cornish–Fisher expansion about the normal (error under 0.001 beyond 30).
 */
export function tQuantile975(df: number): number {
  if (df < 1) return Number.NaN;
  if (df <= 30) return T_975[Math.floor(df) - 1] as number;
  const z = Z_95;
  return (
    z +
    (z ** 3 + z) / (4 * df) +
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) +
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3)
  );
}

/** The mean of `values` with its 95% t interval; the interval is null under two values. */
export function meanWithInterval(values: readonly number[]): { mean: number | null; ci95: [number, number] | null } {
  const n = values.length;
  if (n === 0) return { mean: null, ci95: null };
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  if (n < 2) return { mean, ci95: null };
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n);
  return { mean, ci95: [mean - half, mean + half] };
}
