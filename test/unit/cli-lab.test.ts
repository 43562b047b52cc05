/**
 * The CLI as a lab user runs it, as a child process: --version (and the
 * version command) print package.json's version, and `matrix --list` prints
 * exactly the selected cells, shard included, and runs nothing.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from '../../lib/cli/args';
import { selectCells } from '../../lib/cli/select';
import { REPO_ROOT } from '../../lib/paths';
import { packageVersion } from '../../lib/util/package-json';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'cli.js');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, MMAPLAB_RUNS: '/nonexistent/never-written' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the CLI for lab users', function () {
  this.timeout(60_000);

  it('--version, -V and version print the package version, and --help still wins', function () {
    assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
    for (const argv of [['--version'], ['-V'], ['version'], ['matrix', '--version']]) {
      const r = cli(...argv);
      assert.equal(r.status, 0, argv.join(' '));
      assert.equal(r.stdout, `mmaplab ${packageVersion()}\n`, argv.join(' '));
    }
    assert.equal(parseArgs(['--version', '--help']).command, 'help');
  });

  it('matrix --list prints the selected cells of the shard, one id a line, and boots nothing', function () {
    const args = ['matrix', '--hazards', 'only', '--shard', '2/3'];
    const r = cli(...args, '--list');
    assert.equal(r.status, 0, r.stderr);
    const want = selectCells(parseArgs(args)).map((c) => c.id);
    assert.ok(want.length > 5);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), want);
    assert.equal(r.stderr, `${want.length} cell(s) selected\n`);
  });

  it('matrix --list with a filter that matches nothing is a usage error', function () {
    const r = cli('matrix', '--list', '--cell', 'no-such-cell');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no cell matches/);
  });

  it('run CELL --target host refuses a hazard cell without --allow-hazards, and --kernel, before touching the machine', function () {
    const hazard = cli('run', 'kmalloc/fault_page/4K/write-first', '--target', 'host');
    assert.equal(hazard.status, 1);
    assert.match(
      hazard.stderr,
      /selected cell\(s\) are hazards \(e\.g\. kmalloc\/fault_page\/4K\/write-first\) that can corrupt this machine's kernel/,
    );
    assert.match(hazard.stderr, /\(error code EHAZARD\)/);
    const kernel = cli('run', 'vmalloc_user/remap_vmalloc_range/16K/basic', '--target', 'host', '--kernel', '6.1');
    assert.equal(kernel.status, 2);
    assert.match(kernel.stderr, /--target host runs the kernel this machine booted/);
    assert.equal(cli('run', 'vmalloc_user/remap_vmalloc_range/16K/basic', '--allow-hazards').status, 2);
  });
});
