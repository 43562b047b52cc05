/**
 * Ctrl-C and SIGTERM on a real matrix run (the CLI as a child process, a real
 * signal, real VMs): every QEMU it started is gone, the partial report names
 * the reason and what did not run, and the exit status is the shell's for
 * the signal. The run directories go to a folder of the test's own, so that
 * a QEMU left behind would show by its command line.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { readReport } from '../../lib/report/build';
import { installedKernel } from '../installed-kernel';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'cli.js');
/** 48 cells: far more than run before the signal. */
const SELECTION = ['--alloc', 'vmalloc_user', '--scenario', 'basic', '--uses', 'no', '--files', 'no', '--no-fail'];

interface Stopped {
  status: number | null;
  stderr: string;
}

/** A QEMU of the run has started: its command line is in a run directory. */
function qemuStarted(runs: string): boolean {
  try {
    return fs.readdirSync(runs).some((d) => fs.existsSync(path.join(runs, d, 'qemu-command.sh')));
  } catch {
    return false;
  }
}

/** Run a matrix and send `signal` once stderr matches `when` and `also` holds (checked every 50 ms). */
function matrixStoppedBy(
  signal: NodeJS.Signals,
  when: RegExp,
  out: string,
  runs: string,
  also: () => boolean = () => true,
): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'matrix', '--kernel', '6.12', ...SELECTION, '--out', out], {
      env: { ...process.env, MMAPLAB_RUNS: runs },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      if (when.test(stderr) && also()) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 50);
    child.on('error', reject);
    child.on('close', (status) => {
      clearInterval(poll);
      resolve({ status, stderr });
    });
  });
}

/** Processes whose command line mentions `dir` (a QEMU of that run would). */
function processesMentioning(dir: string): string[] {
  const hits: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir)) hits.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return hits;
}

describe('stopping a run with a signal', function () {
  this.timeout(600_000);
  const k612 = installedKernel('6.12');
  let tmp: string;
  before(() => {
    k612.get();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-signal-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(`SIGTERM after the first result: VMs killed, the partial report says why and what did not run, exit 143 (${k612.title})`, async function () {
    const out = path.join(tmp, 'term-out');
    const runs = path.join(tmp, 'term-runs');
    const r = await matrixStoppedBy('SIGTERM', /^\[1\/48\] /m, out, runs);
    assert.equal(r.status, 143, r.stderr);
    assert.match(r.stderr, /^mmaplab: SIGTERM: stopping \(1 VM\(s\) killed\)$/m);
    assert.match(r.stderr, /^mmaplab: stopped by SIGTERM$/m);
    assert.deepEqual(processesMentioning(runs), []);
    const report = readReport(path.join(out, 'report.json'));
    assert.equal(report.stopped?.reason, 'stopped by SIGTERM');
    assert.ok(report.cells.length >= 1 && report.cells.length < 48, `${report.cells.length} cells have results`);
    const line = report.stopped?.notRun[0] ?? '';
    assert.match(line, /: did not run: vmalloc_user\//);
    assert.equal(line.split(', ').length, 48 - report.cells.length, 'every cell without a result is named');
    assert.match(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /## Stopped early/);
  });

  it(`SIGINT once a VM runs, before any result: the VM killed, no report, exit 130 (${k612.title})`, async function () {
    const out = path.join(tmp, 'int-out');
    const runs = path.join(tmp, 'int-runs');
    const r = await matrixStoppedBy('SIGINT', /48 cell\(s\) under/, out, runs, () => qemuStarted(runs));
    assert.equal(r.status, 130, r.stderr);
    assert.doesNotMatch(r.stderr, /^\[1\/48\]/m, 'no cell had its result');
    assert.match(r.stderr, /^mmaplab: SIGINT: stopping \(1 VM\(s\) killed\)$/m);
    assert.match(r.stderr, /^the run stopped before any cell had a result: no report written$/m);
    assert.match(r.stderr, /: did not run: all 48 cell\(s\)$/m);
    assert.deepEqual(processesMentioning(runs), []);
    assert.equal(fs.existsSync(path.join(out, 'report.json')), false);
  });
});
