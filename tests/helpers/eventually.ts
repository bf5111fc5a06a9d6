/**
 * Polls `check` until it holds, for at most `ms`; resolves with its last answer. For conditions
 * another process or a timer brings about: a test waits for the condition, never for a fixed time.
 */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, stepMs = 25): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}
