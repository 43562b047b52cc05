/**
 * Every link between the README and the pages under docs/ lands: the file
 * exists in the tree, and an anchor names a heading of that file (as
 * GitHub makes anchors: lower case, punctuation dropped, spaces to dashes).
 * A section moved or renamed without its links fails here.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

function docFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The anchor GitHub gives a heading's text. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(text: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const [, heading] = (fenced ? null : /^#{1,6} (.*)$/.exec(line)) ?? [];
    if (heading !== undefined) out.add(anchorOf(heading));
  }
  return out;
}

/** Relative links of a Markdown text, outside code blocks and inline code. */
function linksIn(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target !== undefined && !/^[a-z]+:/.test(target)) out.push(target);
    }
  }
  return out;
}

describe('links between the README and docs/', function () {
  it('GitHub anchors: "Boot once, restore many" is boot-once-restore-many', function () {
    assert.equal(anchorOf("Kernels built from Debian's source"), 'kernels-built-from-debians-source');
    assert.equal(anchorOf('What a program can do with each method (uses)'), 'what-a-program-can-do-with-each-method-uses');
  });

  for (const file of docFiles()) {
    it(`${file}: every relative link lands on a file and a heading`, function () {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
      const bad: string[] = [];
      for (const link of linksIn(text)) {
        const [target = '', anchor] = link.split('#');
        const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
        const abs = path.join(REPO_ROOT, resolved);
        if (resolved.startsWith('..') || !fs.existsSync(abs)) {
          bad.push(`${link}: no file ${resolved}`);
          continue;
        }
        if (anchor !== undefined && !anchorsIn(fs.readFileSync(abs, 'utf8')).has(anchor))
          bad.push(`${link}: no heading #${anchor} in ${resolved}`);
      }
      assert.deepEqual(bad, []);
    });
  }
});
