/**
 * The Layout section (docs/architecture.md) names every folder of the tree: each
 * top-level folder git tracks, those builds and runs make, and each folder
 * of lib/. The code block is read by its columns (a top-level folder starts
 * a line; lib/'s folders are the indented block under it), so a name that
 * appears elsewhere in the text does not count. A folder added without a
 * line there fails here.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

/** Where the Layout section lives. */
const LAYOUT_PAGE = 'docs/architecture.md';

/** What builds and runs make in a checkout (.gitignore), named on the Layout's last line. */
const GENERATED = ['node_modules', 'dist', 'build', 'prebuilds', '.cache', 'runs'];

function layoutBlock(): string[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, LAYOUT_PAGE), 'utf8');
  const start = readme.indexOf('\n## Layout\n');
  assert.ok(start >= 0, `${LAYOUT_PAGE} has a Layout section`);
  const open = readme.indexOf('\n```\n', start);
  const close = readme.indexOf('\n```\n', open + 1);
  assert.ok(open > 0 && close > open, 'the Layout section has a code block');
  return readme.slice(open + 5, close).split('\n');
}

function trackedTopFolders(): string[] {
  const r = spawnSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `git ls-files in ${REPO_ROOT} failed: ${r.stderr}`);
  return [
    ...new Set(
      r.stdout
        .split('\n')
        .filter((f) => f.includes('/'))
        .map((f) => f.slice(0, f.indexOf('/'))),
    ),
  ].sort();
}

describe('the Layout section of docs/architecture.md', function () {
  const lines = layoutBlock();
  const top = lines.map((l) => /^(\.?[\w-]+)\/ /.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  const libAt = lines.findIndex((l) => l.startsWith('lib/ '));
  const libBlock: string[] = [];
  for (const l of lines.slice(libAt + 1)) {
    if (!/^ /.test(l)) break;
    libBlock.push(l);
  }
  const libFolders = libBlock.map((l) => /^ +([\w-]+)\/ +\S/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  const generatedAt = lines.findIndex((l) => l.startsWith('made by builds and runs'));
  const generatedText = generatedAt < 0 ? '' : lines.slice(generatedAt).join(' ');
  const generatedNamed = [...generatedText.matchAll(/(\.?[\w-]+)\//g)].map((m) => m[1]);

  it('names every top-level folder git tracks, one line each', function () {
    assert.deepEqual(
      trackedTopFolders().filter((f) => !top.includes(f)),
      [],
    );
    assert.deepEqual(
      top.filter((f) => !fs.existsSync(path.join(REPO_ROOT, f))),
      [],
      'and no folder that does not exist',
    );
  });

  it('names the folders builds and runs make', function () {
    assert.deepEqual(
      GENERATED.filter((f) => !generatedNamed.includes(f)),
      [],
    );
  });

  it('names every folder of lib/, in the block under lib/', function () {
    const actual = fs
      .readdirSync(path.join(REPO_ROOT, 'lib'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual([...libFolders].sort(), actual);
  });
});
