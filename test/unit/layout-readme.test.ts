/**
 * The README's Layout section names every folder of the tree: each
 * top-level folder (those builds and runs make included) and each folder
 * of lib/. A folder added without a line there fails here.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

function layoutSection(): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Layout\n');
  assert.ok(start >= 0, 'the README has a Layout section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

function folders(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== '.git')
    .map((e) => e.name);
}

describe("the README's Layout section", function () {
  const layout = layoutSection();

  it('names every top-level folder', function () {
    const missing = folders(REPO_ROOT).filter((f) => !new RegExp(`(^|[\\s,])${f.replace('.', '\\.')}/`, 'm').test(layout));
    assert.deepEqual(missing, []);
  });

  it('names every folder of lib/', function () {
    const missing = folders(path.join(REPO_ROOT, 'lib')).filter((f) => !new RegExp(`^ +${f}/ `, 'm').test(layout));
    assert.deepEqual(missing, []);
  });
});
