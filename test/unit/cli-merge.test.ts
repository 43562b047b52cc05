/**
 * lib/cli/merge and lib/cli/exit: shard reports joined into one, what is
 * refused, and the exit status every judging command shares.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../../lib/cli/args';
import { EXIT_FAILED, EXIT_OK, agreementExit, agreementSummary, failingCells } from '../../lib/cli/exit';
import { mergeCommand, mergeReports, type MergedEnvironment } from '../../lib/cli/merge';
import { reportCommand } from '../../lib/cli/report';
import { exitStatusOf } from '../../lib/cli';
import { makeCell } from '../../lib/experiments/catalogue';
import { emptyObservation, type CellResult, type Verdict } from '../../lib/experiments/types';
import { buildReport, readReport } from '../../lib/report/build';
import type { MatrixReport, ReportEnvironment } from '../../lib/report/schema';
import { MmaplabError } from '../../lib/util/errors';
import { filesSection } from './report-fixture';
import { at } from '../../lib/util/at';

const ENV: ReportEnvironment = {
  generated: '2026-11-24T16:00:00.000Z',
  target: 'qemu',
  mmaplab: '0.1.0',
  node: 'v20.20.2',
  host: { os: 'Linux', release: '6.1.0', arch: 'x64', cpus: 2 },
  qemu: 'QEMU emulator version 7.2.19',
};

let clock = 0;
function run(kernel: string, id: 'vmalloc_user' | 'vmalloc' | 'pages_nocomp', verdict: Verdict, detail = ''): CellResult {
  const method = id === 'pages_nocomp' ? 'fault_page' : 'remap_vmalloc_range';
  return {
    kernel,
    cell: makeCell(id, method, 16 * 1024),
    verdict,
    detail,
    headline: `${verdict} ${detail}`.trim(),
    evidence: { kmsg: [], findings: [], taintGained: [], observation: emptyObservation() },
    durationMs: 1000 + ++clock, // every run distinct, as real runs are
  };
}

const K61 = '6.1.0-56-amd64';
const K612 = '6.12.117+deb12-amd64';

function report(results: CellResult[], generated: string, boots = 1): MatrixReport {
  const kernels = [...new Set(results.map((r) => r.kernel))].map((release) => ({
    release,
    series: release.startsWith('6.1.') ? '6.1' : '6.12',
    accel: 'tcg',
    boots,
  }));
  return buildReport(results, kernels, { ...ENV, generated });
}

function mergeError(fn: () => unknown): MmaplabError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MmaplabError, String(err));
    return err;
  }
  assert.fail('should have thrown');
}

describe('merge', () => {
  const shard1 = report([run(K61, 'vmalloc_user', 'ok'), run(K612, 'vmalloc_user', 'ok')], '2026-11-24T16:00:00.000Z');
  const shard2 = report(
    [run(K61, 'vmalloc', 'refused', 'EINVAL'), run(K612, 'vmalloc', 'refused', 'EINVAL')],
    '2026-11-24T16:05:00.000Z',
    2,
  );

  it('concatenates the cells in input order and joins the kernels, boots added up', () => {
    const m = mergeReports([
      { file: 'a/report.json', report: shard1 },
      { file: 'b/report.json', report: shard2 },
    ]);
    assert.deepEqual(
      m.cells.map((c) => `${c.kernel} ${c.cell.id}`),
      [...shard1.cells, ...shard2.cells].map((c) => `${c.kernel} ${c.cell.id}`),
    );
    assert.deepEqual(m.kernels, [
      { release: K61, series: '6.1', accel: 'tcg', boots: 3 },
      { release: K612, series: '6.12', accel: 'tcg', boots: 3 },
    ]);
    assert.equal(m.schema, 'mmaplab-report');
    assert.equal(m.version, 2);
  });

  it('keeps the files section of the shard that measured it, claims answered again; none when no input has one', () => {
    const withFiles: MatrixReport = { ...shard1, files: filesSection() };
    const m = mergeReports([
      { file: 'a/report.json', report: shard2 },
      { file: 'b/report.json', report: withFiles },
    ]);
    assert.deepEqual(m.files?.kernels, withFiles.files?.kernels);
    assert.deepEqual(m.files?.claims, withFiles.files?.claims);
    const none = mergeReports([
      { file: 'a/report.json', report: shard1 },
      { file: 'b/report.json', report: shard2 },
    ]);
    assert.equal('files' in none, false);
  });

  it("keeps what stopped early: every input's reason, by file, and its not-run lines; nothing when none stopped", () => {
    const stopped = { ...shard2, stopped: { reason: 'stopped by SIGTERM', notRun: [`${K61}: did not run: x`] } };
    const m = mergeReports([
      { file: 'a/report.json', report: shard1 },
      { file: 'b/report.json', report: stopped },
    ]);
    assert.deepEqual(m.stopped, { reason: 'b/report.json: stopped by SIGTERM', notRun: [`${K61}: did not run: x`] });
    assert.equal(
      mergeReports([
        { file: 'a/report.json', report: shard1 },
        { file: 'b/report.json', report: shard2 },
      ]).stopped,
      undefined,
    );
  });

  it('keeps the first environment and notes every input', () => {
    const m = mergeReports([
      { file: 'a/report.json', report: shard1 },
      { file: 'b/report.json', report: shard2 },
    ]);
    const env = m.environment as MergedEnvironment;
    assert.equal(env.generated, shard1.environment.generated);
    assert.equal(env.qemu, ENV.qemu);
    assert.deepEqual(env.merged, [
      { file: 'a/report.json', generated: '2026-11-24T16:00:00.000Z', cells: 2, kernels: [K61, K612] },
      { file: 'b/report.json', generated: '2026-11-24T16:05:00.000Z', cells: 2, kernels: [K61, K612] },
    ]);
  });

  it('takes the same cell on the same kernel in two inputs as repeats: runs joined, distribution summed', () => {
    const a = report([run(K61, 'pages_nocomp', 'kernel-complaint', 'bad-page-state')], 't1');
    const b = report([run(K61, 'pages_nocomp', 'kernel-complaint', 'bad-page-state')], 't2');
    const m = mergeReports([
      { file: 'a', report: a },
      { file: 'b', report: b },
    ]);
    assert.equal(m.cells.length, 1);
    const c = at(m.cells, 0, 'the first cell');
    assert.equal(c.runs.length, 2);
    assert.deepEqual(c.distribution, { 'kernel-complaint bad-page-state': 2 });
    assert.equal(c.agreement, 'agrees');
  });

  it('repeats that disagree make the cell flaky', () => {
    const a = report([run(K61, 'pages_nocomp', 'kernel-complaint', 'bad-page-state')], 't1');
    const b = report([run(K61, 'pages_nocomp', 'ok')], 't2');
    const merged = mergeReports([
      { file: 'a', report: a },
      { file: 'b', report: b },
    ]);
    const c = at(merged.cells, 0, 'the merged cell');
    assert.equal(c.agreement, 'flaky');
    assert.deepEqual(c.distribution, { 'kernel-complaint bad-page-state': 1, ok: 1 });
    assert.equal(c.verdict, 'kernel-complaint', 'the first run stays the headline');
  });

  it('refuses the same run in two inputs (the same report given twice)', () => {
    const err = mergeError(() =>
      mergeReports([
        { file: 'a/report.json', report: shard1 },
        { file: 'copy/report.json', report: JSON.parse(JSON.stringify(shard1)) as MatrixReport },
      ]),
    );
    assert.equal(err.code, 'EMERGE');
    assert.match(
      err.message,
      /^vmalloc_user\/remap_vmalloc_range\/16K\/basic on 6\.1\.0-56-amd64: the same run is in a\/report\.json and copy\/report\.json/,
    );
  });

  it('refuses a cell the inputs define differently', () => {
    const b = JSON.parse(JSON.stringify(report([run(K61, 'vmalloc_user', 'ok')], 't2'))) as MatrixReport;
    at(b.cells, 0, 'the first cell').cell.title = 'another catalogue';
    const err = mergeError(() =>
      mergeReports([
        { file: 'a', report: report([run(K61, 'vmalloc_user', 'ok')], 't1') },
        { file: 'b', report: b },
      ]),
    );
    assert.equal(err.code, 'EMERGE');
    assert.match(err.message, /define the cell differently/);
  });

  it('refuses a cell judged against different expectations', () => {
    const b = JSON.parse(JSON.stringify(report([run(K61, 'vmalloc_user', 'ok')], 't2'))) as MatrixReport;
    at(b.cells, 0, 'the first cell').expectation!.reason = 'an older table';
    const err = mergeError(() =>
      mergeReports([
        { file: 'a', report: report([run(K61, 'vmalloc_user', 'ok')], 't1') },
        { file: 'b', report: b },
      ]),
    );
    assert.match(err.message, /judge it against different expectations/);
  });

  it('notes every accelerator a kernel ran under', () => {
    const b = report([run(K61, 'vmalloc', 'refused', 'EINVAL')], 't2');
    at(b.kernels, 0, 'the first kernel').accel = 'kvm';
    const m = mergeReports([
      { file: 'a', report: report([run(K61, 'vmalloc_user', 'ok')], 't1') },
      { file: 'b', report: b },
    ]);
    assert.equal(at(m.kernels, 0, 'the first kernel').accel, 'tcg,kvm');
  });

  it('nothing to merge is a usage error', () => {
    assert.equal(mergeError(() => mergeReports([])).code, 'EUSAGE');
  });

  describe('the commands, on files', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-merge-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const quiet = <T>(fn: () => T): T => {
      const out = process.stdout.write.bind(process.stdout);
      const err = process.stderr.write.bind(process.stderr);
      process.stdout.write = () => true;
      process.stderr.write = () => true;
      try {
        return fn();
      } finally {
        process.stdout.write = out;
        process.stderr.write = err;
      }
    };

    it('merge writes report.json to --out, and its exit status follows the agreement', () => {
      const a = path.join(dir, 'a.json');
      const b = path.join(dir, 'b.json');
      fs.writeFileSync(a, JSON.stringify(shard1));
      fs.writeFileSync(b, JSON.stringify(report([run(K61, 'vmalloc_user', 'oops', 'page-fault-oops')], 't3')));
      const out = path.join(dir, 'merged');
      assert.equal(
        quiet(() => mergeCommand(parseArgs(['merge', a, b, '--out', out]))),
        EXIT_FAILED,
        'a run that differs',
      );
      const merged = readReport(path.join(out, 'report.json'));
      assert.equal(merged.cells.length, 2);
      assert.equal(at(merged.cells, 0, 'the first cell').agreement, 'flaky');
      assert.equal(
        quiet(() => mergeCommand(parseArgs(['merge', a, b, '--out', out, '--no-fail']))),
        EXIT_OK,
      );
    });

    it('merge refuses a file given twice, as a usage error', () => {
      const a = path.join(dir, 'a.json');
      fs.writeFileSync(a, JSON.stringify(shard1));
      const err = mergeError(() => mergeCommand(parseArgs(['merge', a, path.join(dir, '.', 'a.json')])));
      assert.equal(err.code, 'EUSAGE');
      assert.equal(exitStatusOf(err), 2);
    });

    it('merge of a file that is not a report fails with EREPORT', () => {
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{"schema":"something-else"}');
      const err = mergeError(() => mergeCommand(parseArgs(['merge', bad])));
      assert.equal(err.code, 'EREPORT');
      assert.equal(exitStatusOf(err), 1);
    });

    it('report DIR writes the formats again from DIR/report.json, and accepts the file itself', () => {
      fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify(shard2));
      assert.equal(
        quiet(() => reportCommand(parseArgs(['report', dir]))),
        EXIT_OK,
      );
      assert.deepEqual(readReport(path.join(dir, 'report.json')), shard2);
      assert.equal(
        quiet(() => reportCommand(parseArgs(['report', path.join(dir, 'report.json')]))),
        EXIT_OK,
      );
      assert.equal(mergeError(() => reportCommand(parseArgs(['report', path.join(dir, 'nothing')]))).code, 'EREPORT');
    });
  });
});

describe('exit status', () => {
  const cells = (...agreements: string[]): Pick<MatrixReport, 'cells'> => ({
    cells: agreements.map((agreement) => ({ agreement })) as unknown as MatrixReport['cells'],
  });

  it('0 when every cell agrees (and when there is none)', () => {
    assert.equal(agreementExit(cells('agrees', 'agrees'), false), 0);
    assert.equal(agreementExit(cells(), false), 0);
  });

  it('0 when a cell only matches its observation record: a known surprise, shown and counted apart', () => {
    assert.equal(agreementExit(cells('agrees', 'as-recorded'), false), 0);
    assert.equal(failingCells(cells('agrees', 'as-recorded')).length, 0);
  });

  for (const bad of ['differs', 'flaky', 'no-expectation']) {
    it(`1 when a cell is ${bad}, 0 with --no-fail`, () => {
      assert.equal(agreementExit(cells('agrees', bad), false), 1);
      assert.equal(agreementExit(cells('agrees', bad), true), 0);
      assert.equal(failingCells(cells('agrees', bad)).length, 1);
    });
  }

  it('2 for a usage error, 1 for any other failure', () => {
    assert.equal(exitStatusOf(new MmaplabError('EUSAGE', 'x')), 2);
    assert.equal(exitStatusOf(new MmaplabError('EGUEST', 'x')), 1);
    assert.equal(exitStatusOf(new Error('x')), 1);
  });

  it('the summary counts each agreement', () => {
    assert.equal(
      agreementSummary(cells('agrees', 'agrees', 'as-recorded', 'differs', 'flaky', 'no-expectation')),
      '6 cells: 2 meet their prediction, 1 only match an observation record, 1 differ, 1 flaky, 1 without prediction',
    );
    assert.equal(agreementSummary(cells('agrees')), '1 cell: 1 meet their prediction, 0 only match an observation record');
    assert.equal(agreementSummary(cells()), '0 cells: 0 meet their prediction, 0 only match an observation record');
  });
});
