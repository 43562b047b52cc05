/** lib/report/write: every format into one directory; report.json reads back as the same report. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readReport } from '../../lib/report/build';
import { writeReports } from '../../lib/report/write';
import { caught } from './caught';
import { surpriseReport } from './report-fixture';

describe('writeReports (lib/report/write.ts)', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-report-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes report.json, junit.xml, report.tap, report.md and report.html, creating the directory', function () {
    const r = surpriseReport();
    const out = path.join(dir, 'a', 'b');
    const files = writeReports(out, r);
    assert.deepEqual(
      files.map((f) => path.relative(out, f)),
      ['report.json', 'junit.xml', 'report.tap', 'report.md', 'report.html'],
    );
    for (const f of files) assert.ok(fs.statSync(f).size > 1000, f);
    assert.deepEqual(readReport(path.join(out, 'report.json')), JSON.parse(JSON.stringify(r)));
  });

  it('fails with EREPORTWRITE when the directory cannot be made', function () {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    const err = caught(() => writeReports(path.join(file, 'sub'), surpriseReport()));
    assert.equal(err.code, 'EREPORTWRITE');
    assert.match(err.message, /cannot write the reports into/);
  });
});
