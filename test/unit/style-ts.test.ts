/**
 * The TypeScript and JavaScript keep their style: the tree is clean under
 * ESLint (eslint.config.mjs: typescript-eslint's type-checked rules) and
 * laid out as Prettier's .prettierrc.json says. A failure shows the tools'
 * own messages. A missing tool fails, naming `npm ci`; nothing is skipped.
 * The ESLint run type-checks the whole program: about 40 s of CPU.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { SETUP_NPM, eslint, eslintText, prettierCheck, prettierSkips } from '../ts-style';
import { rejected } from './caught';
import { filesUnder } from './repo-files';

/** The sources ESLint reads, for the disable comments they hold. */
function lintedSources(): string[] {
  return ['lib', 'test', 'scripts', 'examples'].flatMap((dir) => filesUnder(dir, /\.(ts|js|mjs)$/)).concat('eslint.config.mjs');
}

/** A directive comment that turns a rule off (ESLint's own syntax: `-- ` starts its description). */
const DISABLE = /\/[/*]\s*eslint-disable(?:-next-line|-line)?\b(.*)/;

/**
 * The tree's ESLint run starts as mocha loads this file, so that its 40 s of
 * type-checking use the second core while the other unit tests run on the
 * first; the test below awaits it. Settled here, so that a failure is the
 * test's and never an unhandled rejection.
 */
const treeLint: Promise<{ problem: Awaited<ReturnType<typeof eslint>> } | { error: unknown }> = eslint().then(
  (problem) => ({ problem }),
  (error: unknown) => ({ error }),
);

describe('TypeScript style', function () {
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-style-ts-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('ESLint over lib/, test/ and scripts/', function () {
    // The type-checked rules build the whole program first.
    this.timeout(600_000);

    it('finds the tree clean', async () => {
      const run = await treeLint;
      if ('error' in run) throw run.error;
      const { problem } = run;
      if (problem !== null) assert.fail(`ESLint is not clean on the tree (npm run lint; fix the code, not the rule):\n\n${problem.output}`);
    });

    it('reports what it finds, in its own words, by the rules of eslint.config.mjs', async () => {
      const problem = await eslintText('let x = 1;\nif (x == 2) x = 3;\n', 'scripts/bad.js');
      assert.match(problem?.output ?? '', /2:7 +error +Expected '===' and instead saw '==' +eqeqeq/);
    });

    it('turns a rule off only on a line, naming the rule and saying why', () => {
      for (const file of lintedSources()) {
        fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const m = DISABLE.exec(line);
            if (m === null) return;
            const where = `${file}:${i + 1}: ${line.trim()}`;
            assert.match(line, /eslint-disable-(next-)?line /, `${where}: a rule is turned off for one line, not a file`);
            assert.match(m[1] ?? '', /^ [@\w/-]+(, [@\w/-]+)* -- .{20,}/, `${where}: names its rules and gives the reason`);
          });
      }
    });

    it('without ESLint installed, fails naming the install step', async () => {
      const err = await rejected(eslint(['.'], tmp));
      assert.equal(err.code, 'ENOTOOL');
      assert.ok(err.message.includes(SETUP_NPM), err.message);
    });
  });

  describe('Prettier', function () {
    this.timeout(120_000);

    it('finds the tree laid out as .prettierrc.json says', async () => {
      const problem = await prettierCheck();
      if (problem !== null) assert.fail(`Prettier would change these files (npm run format):\n\n${problem.output}`);
    });

    it('reports what it would change, in its own words', async () => {
      fs.copyFileSync(path.join(REPO_ROOT, '.prettierrc.json'), path.join(tmp, '.prettierrc.json'));
      const bad = path.join(tmp, 'bad.ts');
      fs.writeFileSync(bad, 'const a = "x";\n');
      const problem = await prettierCheck([bad]);
      assert.match(problem?.output ?? '', /\[warn\] .*bad\.ts\n/);
      fs.writeFileSync(bad, "const a = 'x';\n");
      assert.equal(await prettierCheck([bad]), null);
    });

    it('lays out the TypeScript, JavaScript, JSON and YAML; leaves markdown, C, fixtures and build output alone', async () => {
      const expected: Record<string, 'laid out' | 'left alone'> = {
        'lib/cli.ts': 'laid out',
        'test/run-all.ts': 'laid out',
        'scripts/prune-dist.js': 'laid out',
        'eslint.config.mjs': 'laid out',
        'package.json': 'laid out',
        '.github/workflows/pr.yml': 'laid out',
        'README.md': 'left alone',
        'docs/findings.md': 'left alone',
        'package-lock.json': 'left alone',
        'kmod/mmaplab_main.c': 'left alone',
        'native/addon.cc': 'left alone',
        'test/fixtures/kmsg/README.md': 'left alone',
        'dist/lib/cli.js': 'left alone',
      };
      const found = await Promise.all(Object.keys(expected).map(async (f) => [f, (await prettierSkips(f)) ? 'left alone' : 'laid out']));
      assert.deepEqual(Object.fromEntries(found), expected);
    });

    it('without Prettier installed, fails naming the install step', async () => {
      const err = await rejected(prettierCheck(['.'], tmp));
      assert.equal(err.code, 'ENOTOOL');
      assert.ok(err.message.includes(SETUP_NPM), err.message);
    });
  });
});
