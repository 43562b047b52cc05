/** lib/report/build: grouping runs per kernel and cell, and how varying runs are judged. */
import { strict as assert } from 'node:assert';
import { readReport, summarizeRuns } from '../../lib/report/build';
import { report, run, spec } from './report-fixture';
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
    assert.deepEqual(summarizeRuns([run(K, safe, 'ok'), run(K, safe, 'ok')]), { agreement: 'agrees', varies: false, distribution: { ok: 2 } });
  });

  it('groups repetitions into one cell per kernel, and readReport refuses other versions', function () {
    const safe = spec('vmalloc_user/remap_vmalloc_range/16K/basic');
    const r = report([run(K, safe, 'ok'), run(K, safe, 'ok')]);
    assert.equal(r.cells.length, 1);
    assert.equal(r.cells[0]?.runs.length, 2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rb-'));
    try {
      fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ ...r, version: 99 }));
      assert.throws(() => readReport(path.join(dir, 'r.json')), (e: Error & { code?: string }) => e.code === 'EREPORT');
      fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify(r));
      assert.equal(readReport(path.join(dir, 'ok.json')).cells.length, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
