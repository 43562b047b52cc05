/**
 * Debian replaces kernel releases (the 6.1 ABI number moves), so nothing that
 * must work on a fresh machine may name one: tests reach real kernels only
 * through the selection the CLI uses (test/installed-kernel.ts), and the
 * library, scripts and workflows select by series. Unit tests may keep a
 * release *string* as data; never a path under /boot or /lib/modules.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

/** A path under /boot or /lib/modules whose name carries a release ("x.y.z-..." or "x.y.z+..."). */
const PINNED_PATH = /\/(?:boot|lib\/modules)\/(?:[A-Za-z.]+-)?\d+\.\d+\.\d+[-+]/;
/** A Debian kernel release: "6.1.0-57-..." (ABI number) or "6.12.117+deb12-...". */
const RELEASE = /\b\d+\.\d+\.0-\d+-|\b\d+\.\d+\.\d+\+deb\d+/;

const SOURCE = /\.(?:ts|js|sh|ya?ml|c|h|cc)$/;

function sourceFiles(dir: string, skip: readonly string[] = []): string[] {
  const full = path.join(REPO_ROOT, dir);
  if (!fs.existsSync(full)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(full, { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (skip.includes(rel)) continue;
    if (e.isDirectory()) out.push(...sourceFiles(rel, skip));
    else if (SOURCE.test(e.name)) out.push(rel);
  }
  return out;
}

function offending(files: readonly string[], pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const f of files) {
    fs.readFileSync(path.join(REPO_ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe('no kernel release that Debian may replace is pinned', function () {
  it('the checks recognise what they look for', function () {
    // Samples built from parts, so that this file is not a hit of its own.
    assert.ok(PINNED_PATH.test('fs.readFileSync(`/boot/config-' + '6.1.0-56-amd64`)'));
    assert.ok(PINNED_PATH.test("'/lib/modules/" + "6.12.117+deb12-amd64/build'"));
    assert.ok(!PINNED_PATH.test('`/boot/config-${kernel.release}`'));
    assert.ok(RELEASE.test("kernel: ['6.1.0-56-amd64']"));
    assert.ok(RELEASE.test('6.12.117+deb12-amd64'));
    assert.ok(!RELEASE.test("kernel: ['6.1', '6.12']"));
  });

  it('no test, library or script source names a path under /boot or /lib/modules with a literal release', function () {
    const files = ['test', 'lib', 'scripts', '.github'].flatMap((d) => sourceFiles(d, ['test/fixtures']));
    assert.ok(files.length > 50, `found the sources (${files.length} files)`);
    assert.deepEqual(offending(files, PINNED_PATH), []);
  });

  it('the library, scripts and workflows name no Debian kernel release at all (they select by series)', function () {
    const files = ['lib', 'scripts', '.github'].flatMap((d) => sourceFiles(d));
    assert.ok(
      files.some((f) => f.startsWith('.github')),
      'the workflows are read',
    );
    assert.deepEqual(offending(files, RELEASE), []);
  });
});
