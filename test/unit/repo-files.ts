/** Files of the checkout, for tests that read the project's own sources. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

/** Paths relative to the repository root, '/'-separated, of the files under `dir` whose name matches. */
export function filesUnder(dir: string, name: RegExp): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(REPO_ROOT, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (name.test(e.name)) out.push(r);
    }
  };
  walk(dir);
  return out.sort();
}
