/**
 * Packaging: the prebuild that `npm run build:addon` leaves under prebuilds/
 * (node-gyp-build must find and load it with no build/ at all), and what
 * `npm pack` ships (package.json "files"). Both need `npm run build:ts` and
 * `npm run build:addon` first; a missing prebuild fails, it is never skipped.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { filesUnder } from './repo-files';
import { at } from '../../lib/util/at';

interface PackageJson {
  name: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
}

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
const PREBUILD_DIR = `prebuilds/${process.platform}-${process.arch}`;
const PREBUILD = `${PREBUILD_DIR}/${pkg.name}.node`;

describe('package: the prebuild', () => {
  it(`exists as ${PREBUILD}`, () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, PREBUILD)), `${PREBUILD} is missing: run \`npm run build:addon\` (prebuildify) first`);
  });

  it('is what node-gyp-build loads with PREBUILDS_ONLY=1, and its constants() work', () => {
    const script = [
      "const gypBuild = require('node-gyp-build');",
      'const root = process.argv[1];',
      'const file = gypBuild.resolve(root);',
      'const c = require(file).constants();',
      'process.stdout.write(JSON.stringify({ file, PAGE_SIZE: c.PAGE_SIZE, DEVICE_NAME: c.DEVICE_NAME }));',
    ].join('\n');
    const env: NodeJS.ProcessEnv = { ...process.env, PREBUILDS_ONLY: '1' };
    // node-gyp-build would look there instead of the package root.
    delete env[`${pkg.name.toUpperCase().replace(/-/g, '_')}_PREBUILD`];
    const r = spawnSync(process.execPath, ['-e', script, REPO_ROOT], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `node -e with PREBUILDS_ONLY=1 failed:\n${r.stderr}`);
    const got = JSON.parse(r.stdout) as { file: string; PAGE_SIZE: unknown; DEVICE_NAME: unknown };
    assert.equal(path.relative(REPO_ROOT, got.file).split(path.sep).join('/'), PREBUILD);
    assert.ok(
      typeof got.PAGE_SIZE === 'number' && got.PAGE_SIZE >= 4096 && (got.PAGE_SIZE & (got.PAGE_SIZE - 1)) === 0,
      `PAGE_SIZE ${String(got.PAGE_SIZE)}`,
    );
    assert.equal(typeof got.DEVICE_NAME, 'string');
  });
});

describe('package: npm pack', () => {
  let packed: Set<string>;

  before(() => {
    // --ignore-scripts: the file list only, whatever pack hooks may be added.
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 25_000,
    });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `npm pack --dry-run failed:\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { files: { path: string }[] }[];
    assert.equal(report.length, 1);
    packed = new Set(at(report, 0, 'the first packed file list').files.map((f) => f.path));
  });

  const missing = (want: string[]): string[] => want.filter((f) => !packed.has(f));

  it('ships the prebuild', () => {
    assert.deepEqual(missing([PREBUILD]), []);
  });

  it('ships the entry points package.json names: main, types and bin', () => {
    const entries = ['dist/lib/index.js', 'dist/lib/index.d.ts', pkg.main, pkg.types, ...Object.values(pkg.bin)];
    assert.deepEqual(missing([...new Set(entries.map((p) => path.posix.normalize(p)))]), []);
  });

  it('ships every compiled module of lib/ with its declarations', () => {
    const dist = filesUnder('dist/lib', /\.(js|d\.ts)$/);
    assert.ok(dist.length > 10, 'dist/lib looks empty: run `npm run build:ts` first');
    assert.deepEqual(missing(dist), []);
  });

  it('ships the sources of a build from source: binding.gyp, native/, kmod/', () => {
    assert.deepEqual(
      missing(['binding.gyp', ...filesUnder('native', /\.(cc|c|h)$/), ...filesUnder('kmod', /(?<!\.mod)\.c$|\.h$|^Kbuild$|^Makefile$/)]),
      [],
    );
    assert.ok(packed.has('kmod/include/uapi/linux/mmaplab.h'));
  });

  it('ships README.md and every scripts/ file an npm script runs', () => {
    const scripts = Object.values(pkg.scripts).flatMap((s) => s.match(/\bscripts\/[\w.-]+/g) ?? []);
    assert.ok(scripts.length > 0);
    assert.deepEqual(missing(['README.md', 'package.json', ...scripts]), []);
  });

  it('ships no tests, source maps, caches, run directories or build products', () => {
    const unwanted = [...packed].filter(
      (f) =>
        /^(test|dist\/test|\.cache|runs|build|node_modules)\//.test(f) ||
        /\.(map|o|ko|mod|mod\.c|cmd|tsbuildinfo)$/.test(f) ||
        /(^|\/)(Module\.symvers|modules\.order)$/.test(f),
    );
    assert.deepEqual(unwanted, []);
  });
});
