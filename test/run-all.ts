/**
 * `npm test`: unit tests (no VM), then the VM suites, in one mocha run, and a
 * last line "N passed, N failed" for people and CI logs alike (", N pending"
 * and exit status 1 when a test did not run). The same run is also written
 * as JUnit XML (mocha's xunit reporter, beside the console's spec one) to
 * runs/test-junit.xml, or to $MMAPLAB_JUNIT, for CI systems to show.
 * `--unit` runs the unit tests only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { runsDir } from '../lib/paths';

function testFiles(dir: string): string[] {
  const full = path.join(__dirname, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(full, f));
}

const unitOnly = process.argv.includes('--unit');
const mocha = new Mocha({ reporter: 'spec', timeout: 30_000 });
for (const f of testFiles('unit')) mocha.addFile(f);
if (!unitOnly) for (const f of testFiles('vm')) mocha.addFile(f);

// A pending test is a check that did not run: the suite never skips (a
// missing kernel or tool fails), so one that did is named and fails the run.
const pending: string[] = [];
const junitFile = process.env['MMAPLAB_JUNIT'] ?? path.join(runsDir(), unitOnly ? 'test-unit-junit.xml' : 'test-junit.xml');
fs.mkdirSync(path.dirname(junitFile), { recursive: true });
const runner = mocha.run((failures) => {
  const passed = runner.stats?.passes ?? 0;
  for (const title of pending) process.stdout.write(`pending (a check that did not run): ${title}\n`);
  process.stdout.write(`\n${passed} passed, ${failures} failed${pending.length > 0 ? `, ${pending.length} pending` : ''}\n`);
  process.exitCode = failures === 0 && pending.length === 0 ? 0 : 1;
  junit.done(failures, () => process.stdout.write(`JUnit report: ${junitFile}\n`));
});
const junit = new Mocha.reporters.XUnit(runner, { reporterOptions: { output: junitFile, suiteName: 'mmaplab' } });
runner.on('pending', (test) => pending.push(test.fullTitle()));
