import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir` whose name ends with `ending` (all of them without one), in name order. */
export function filesUnder(dir: string, ending = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? filesUnder(full, ending) : full.endsWith(ending) ? [full] : [];
    });
}
