/**
 * Files written before the rename to the uapi header's words (a method was
 * a `technique`) still read: a report.json and a bench.json written the old
 * way read as the same report.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readBenchReport } from '../../lib/bench/schema';
import { readReport } from '../../lib/report/build';
import { renameLegacyKeys } from '../../lib/util/legacy-keys';
import { benchFixture } from './bench-fixture';
import { expectedResults, filesSection, report } from './report-fixture';

/** The JSON of `value` with every "method" key written as "technique", as older versions wrote it. */
const oldStyle = (value: unknown): string => JSON.stringify(value).replaceAll('"method":', '"technique":');

describe('files written with the old key names', function () {
  it('renameLegacyKeys renames technique to method at any depth, and nothing else', function () {
    const v = { a: [{ technique: 'page_cache', n: 1 }], b: { technique: 'control' }, technique2: 3, rule: 'documented-technique' };
    assert.deepEqual(renameLegacyKeys(v), {
      a: [{ method: 'page_cache', n: 1 }],
      b: { method: 'control' },
      technique2: 3,
      rule: 'documented-technique',
    });
  });

  it('keeps a method key already there over an old one beside it', function () {
    assert.deepEqual(renameLegacyKeys({ technique: 'old', method: 'new' }), { technique: 'old', method: 'new' });
  });

  it('a report.json whose file-backed results say technique reads as the same report', function () {
    const r = { ...report(expectedResults().slice(0, 4)), files: filesSection() };
    const old = JSON.parse(JSON.stringify(r)) as { files: { kernels: { results: Record<string, unknown>[] }[] } };
    const results = old.files.kernels.flatMap((k) => k.results);
    assert.ok(results.length > 0, 'the fixture has file-backed results');
    for (const res of results) {
      res['technique'] = res['method'];
      delete res['method'];
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-legacy-'));
    try {
      const file = path.join(dir, 'report.json');
      fs.writeFileSync(file, JSON.stringify(old));
      assert.deepEqual(readReport(file), JSON.parse(JSON.stringify(r)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bench.json written with technique keys reads as the same report', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-legacy-'));
    try {
      const file = path.join(dir, 'bench.json');
      const written = oldStyle(benchFixture());
      assert.ok(written.includes('"technique":'), 'the fixture has method keys to write the old way');
      fs.writeFileSync(file, written);
      assert.deepEqual(readBenchReport(file), JSON.parse(JSON.stringify(benchFixture())));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
