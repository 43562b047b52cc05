/** lib/report/build: grouping runs per kernel and cell, and how varying runs are judged. */
import { strict as assert } from 'node:assert';
import { readReport, summarizeRuns } from '../../lib/report/build';
import { caught } from './caught';
import { deleteAt, setAt } from './json-edit';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { expectedRun, filesSection, futureMethodCell, K61, K612, report, run, spec, unknownScenarioCell } from './report-fixture';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('report builder (lib/report/build.ts)', function () {
  const K = '6.12.117+deb12-amd64';

  it('runs that vary among outcomes the expectation explains agree, and still show as varying', function () {
    const first = spec('pages_array/remap_pfn_range_first_pfn/16K/basic');
    const s = summarizeRuns([run(K, first, 'wrong-data', { detail: 'kernel->user' }), run(K, first, 'hang')]);
    assert.deepEqual([s.agreement, s.varies], ['agrees', true]);
    assert.deepEqual(s.distribution, { 'wrong-data kernel->user': 1, 'hang no-observation': 1 });
  });

  it('runs that vary with an outcome nobody predicted are flaky; a steady wrong answer differs', function () {
    const safe = spec('vmalloc_user/remap_vmalloc_range/16K/basic');
    assert.equal(summarizeRuns([run(K, safe, 'ok'), run(K, safe, 'oops')]).agreement, 'flaky');
    assert.equal(summarizeRuns([run(K, safe, 'oops'), run(K, safe, 'oops')]).agreement, 'differs');
    assert.deepEqual(summarizeRuns([run(K, safe, 'ok'), run(K, safe, 'ok')]), {
      agreement: 'agrees',
      varies: false,
      distribution: { ok: 2 },
    });
  });

  it('groups repetitions into one cell per kernel, and readReport refuses other versions', function () {
    const safe = spec('vmalloc_user/remap_vmalloc_range/16K/basic');
    const r = report([run(K, safe, 'ok'), run(K, safe, 'ok')]);
    assert.equal(r.cells.length, 1);
    assert.equal(r.cells[0]?.runs.length, 2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rb-'));
    try {
      fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ ...r, version: 99 }));
      assert.throws(
        () => readReport(path.join(dir, 'r.json')),
        (e: Error & { code?: string }) => e.code === 'EREPORT',
      );
      fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify(r));
      assert.equal(readReport(path.join(dir, 'ok.json')).cells.length, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('readReport checks the whole report against its schema', function () {
    let dir: string;
    let fixture: string;
    before(function () {
      // A dozen catalogue cells, a scenario and a method of a newer catalogue, and a files section.
      const runs = [
        ...CATALOGUE.slice(0, 12).map((c) => expectedRun(K61, c)),
        run(K612, unknownScenarioCell(), 'ok'),
        run(K612, futureMethodCell(), 'ok'),
      ];
      fixture = JSON.stringify({ ...report(runs), files: filesSection() });
    });
    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rb-'));
    });
    afterEach(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The report with `mutate` applied, written as report.json; its path. */
    function written(mutate: (j: unknown) => void = () => undefined): string {
      const j: unknown = JSON.parse(fixture);
      mutate(j);
      const file = path.join(dir, 'report.json');
      fs.writeFileSync(file, JSON.stringify(j));
      return file;
    }

    it('reads a report as the file holds it: cells of a newer catalogue, unknown keys, key order', function () {
      const file = written((j) => {
        setAt(j, 'cells[0].runs[0].evidence.observation.laterField', { x: 1 });
        setAt(j, 'cells[0].runs[0].evidence.observation.deviceSide', { file: '/dev/shm/bar', checked: false, why: 'older report' });
      });
      const text = fs.readFileSync(file, 'utf8');
      const r = readReport(file);
      assert.equal(JSON.stringify(r), text);
      assert.ok(r.cells.some((c) => c.cell.scenario === ('fork-child' as string)));
      assert.ok(r.cells.some((c) => c.cell.method === ('vm_insert_folio' as string)));
    });

    const cases: Array<[string, (j: unknown) => void, string, string]> = [
      [
        'a signal that is a number, deep in a run',
        (j) => setAt(j, 'cells[12].runs[0].evidence.observation.signal', 11),
        'cells[12].runs[0].evidence.observation.signal',
        'expected string or null, got number 11',
      ],
      [
        'a cell without its verdict',
        (j) => deleteAt(j, 'cells[3].verdict'),
        'cells[3].verdict',
        'expected one of "ok", "refused", "wrong-data", "user-signal", "kernel-complaint", "oops", "panic", "hang", ... (9 in all), got nothing',
      ],
      [
        'an unknown agreement',
        (j) => setAt(j, 'cells[5].agreement', 'maybe'),
        'cells[5].agreement',
        'expected one of "agrees", "as-recorded", "differs", "no-expectation", "flaky", got string "maybe"',
      ],
      [
        'a scenario that is not a name',
        (j) => setAt(j, 'cells[7].cell.scenario', 7),
        'cells[7].cell.scenario',
        'expected a scenario name, got number 7',
      ],
      [
        'a distribution count that is text',
        (j) => setAt(j, 'cells[2].distribution.ok', 'one'),
        'cells[2].distribution.ok',
        'expected number, got string "one"',
      ],
      [
        'a distribution of an odd outcome that is text',
        (j) => setAt(j, 'cells[2].distribution', { 'wrong-data kernel->user': true }),
        'cells[2].distribution["wrong-data kernel->user"]',
        'expected number, got boolean true',
      ],
      ['kernels that are not a list', (j) => setAt(j, 'kernels', {}), 'kernels', 'expected array, got object'],
      ['a kernel without boots', (j) => deleteAt(j, 'kernels[1].boots'), 'kernels[1].boots', 'expected number, got nothing'],
      [
        'a file measurement of a trigger that is not a name',
        (j) => setAt(j, 'files.kernels[0].results[1].trigger', null),
        'files.kernels[0].results[1].trigger',
        'expected a trigger name, got null',
      ],
      [
        'a claim with an unknown verdict',
        (j) => setAt(j, 'files.claims[0].verdict', 'yes'),
        'files.claims[0].verdict',
        'expected one of "supports", "contradicts", "mixed", "untested", got string "yes"',
      ],
      ['an environment without its host', (j) => deleteAt(j, 'environment.host'), 'environment.host', 'expected object, got nothing'],
      [
        'a stuck probe whose thread has no id',
        (j) => setAt(j, 'cells[9].runs[0].evidence.stuck', { tasks: [{ comm: 'node' }], where: 'x', step: null, page: null }),
        'cells[9].runs[0].evidence.stuck.tasks[0].tid',
        'expected number, got nothing',
      ],
    ];
    for (const [what, mutate, where, says] of cases) {
      it(`refuses ${what} with EREPORT naming ${where}`, function () {
        const file = written(mutate);
        const err = caught(() => readReport(file));
        assert.equal(err.code, 'EREPORT');
        assert.equal(err.message, `${file}: ${where}: ${says}`);
        assert.equal(err.details['path'], where);
      });
    }

    it('keeps its own words for another schema or version', function () {
      const other = written((j) => setAt(j, 'schema', 'mmaplab-bench'));
      assert.equal(caught(() => readReport(other)).message, `${other} is not an mmaplab report (no "schema": "mmaplab-report")`);
      const newer = written((j) => setAt(j, 'version', 3));
      assert.equal(caught(() => readReport(newer)).message, `${newer} has report version 3; this mmaplab reads version 2`);
    });
  });
});
