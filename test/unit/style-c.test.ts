/**
 * The C sources keep their style: kmod/ is clean under the kernel's
 * checkpatch.pl --strict (from Debian's linux-source-6.12, extracted once
 * into the cache), native/ under clang-format and native/.clang-format. A
 * failure shows the tools' own messages. A missing tool or kernel source
 * fails, naming `sh scripts/setup-host.sh test`; nothing is skipped. The
 * first run decompresses the source tarball (about a minute); later ones
 * take seconds.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import {
  CHECKPATCH_IGNORES,
  SETUP_TEST,
  checkpatch,
  checkpatchRun,
  checkpatchScript,
  clangFormat,
  kmodSources,
  nativeSources,
} from '../c-style';
import { caught, rejected } from './caught';

/** Each problem under its file, as the tool said it. */
function report(problems: { file: string; output: string }[]): string {
  return problems.map((p) => `${p.file}:\n${p.output}`).join('\n\n');
}

describe('C style', function () {
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-style-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('checkpatch.pl --strict over kmod/', function () {
    // The first run extracts checkpatch.pl from the xz tarball.
    this.timeout(600_000);

    it('finds kmod/ clean', async () => {
      const problems = await checkpatch();
      if (problems.length > 0) assert.fail(`checkpatch.pl --strict is not clean on kmod/ (fix in kernel style):\n\n${report(problems)}`);
    });

    it('reports what it finds, in its own words', async () => {
      const bad = path.join(tmp, 'bad.c');
      fs.writeFileSync(bad, '// SPDX-License-Identifier: GPL-2.0\nstatic int f(void)\n{\n\treturn 1 ;\n}\n');
      const problems = await checkpatch([bad]);
      assert.equal(problems.length, 1);
      assert.match(problems[0]?.output ?? '', /WARNING:SPACING: space prohibited before semicolon\n#4: FILE: .*bad\.c:4:/);
    });

    it('checks every .c and .h of kmod/, the uapi header from kmod/ as from a kernel tree', () => {
      const files = kmodSources();
      assert.ok(files.includes('kmod/mmaplab_main.c') && files.includes('kmod/mmaplab.h'), files.join(' '));
      const uapi = checkpatchRun('kmod/include/uapi/linux/mmaplab.h');
      assert.deepEqual([uapi.cwd, uapi.file], [path.join(REPO_ROOT, 'kmod'), 'include/uapi/linux/mmaplab.h']);
      const main = checkpatchRun('kmod/mmaplab_main.c');
      assert.deepEqual([main.cwd, main.file], [REPO_ROOT, 'kmod/mmaplab_main.c']);
      assert.ok(
        ['--no-tree', '--strict', '--file'].every((a) => main.args.includes(a)),
        main.args.join(' '),
      );
      assert.ok(!main.args.includes('--ignore'), 'a file without an entry in the ignore list has every check');
    });

    it('ignores checks only for files that exist, each with a reason', () => {
      const files = kmodSources();
      for (const [file, types] of Object.entries(CHECKPATCH_IGNORES)) {
        assert.ok(files.includes(file), `${file} is in the ignore list but not in kmod/`);
        for (const [type, reason] of Object.entries(types)) {
          assert.match(type, /^[A-Z0-9_]+$/, `${file}: ${type}`);
          assert.ok(reason.length > 20, `${file}: ${type} needs its reason`);
        }
        assert.deepEqual(checkpatchRun(file).args.slice(-2), ['--ignore', Object.keys(types).join(',')]);
      }
    });

    it('without the kernel source, fails naming the setup step', () => {
      const err = caught(() => checkpatchScript(path.join(tmp, 'linux-source-6.12.tar.xz')));
      assert.equal(err.code, 'ENOSOURCE');
      assert.ok(err.message.includes(SETUP_TEST), err.message);
    });
  });

  describe('clang-format over native/', function () {
    this.timeout(120_000);

    it('finds native/ laid out as native/.clang-format says', async () => {
      const problem = await clangFormat();
      if (problem !== null) assert.fail(`clang-format would change native/ (run clang-format -i on it):\n\n${problem.output}`);
    });

    it('reports what it would change, in its own words', async () => {
      fs.copyFileSync(path.join(REPO_ROOT, 'native', '.clang-format'), path.join(tmp, '.clang-format'));
      const bad = path.join(tmp, 'bad.cc');
      fs.writeFileSync(bad, 'int f() { return 1; }\n');
      const problem = await clangFormat([bad]);
      assert.match(problem?.output ?? '', /bad\.cc:1:\d+: error: code should be clang-formatted/);
    });

    it('checks every .cc, .h and .c of native/', () => {
      const files = nativeSources();
      for (const f of ['native/addon.cc', 'native/addon.h', 'native/bench-cycle.c']) assert.ok(files.includes(f), files.join(' '));
    });

    it('without clang-format, fails naming the setup step', async () => {
      const err = await rejected(clangFormat(nativeSources(), { ...process.env, PATH: tmp }));
      assert.equal(err.code, 'ENOTOOL');
      assert.ok(err.message.includes(SETUP_TEST), err.message);
    });
  });
});
