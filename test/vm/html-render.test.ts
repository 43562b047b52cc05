/**
 * report.html in a real browser: Debian's headless Chromium loads the page
 * built from a synthetic report (deterministic, no VM), its script builds
 * the grids from the embedded JSON and fills the details panel for the cell
 * named in the URL; --dump-dom shows the result, --screenshot keeps a picture
 * at runs/report-screenshot.png (CI keeps it as an artifact).
 *
 * Chromium is a host package (scripts/setup-host.sh): when it is missing
 * this test fails, it never skips (./chromium.ts).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pageData } from '../../lib/report/html';
import type { MatrixReport } from '../../lib/report/schema';
import { writeReports } from '../../lib/report/write';
import { runsDir } from '../../lib/paths';
import { surpriseReport } from '../unit/report-fixture';
import { chromium, closePage, loadPage, type LoadedPage, pngSize } from './chromium';

describe('report.html rendered by headless Chromium', function () {
  this.timeout(240_000);
  let report: MatrixReport;
  let url: string;
  let selected: number;
  let page: LoadedPage | undefined;
  let dom: string;

  before(function () {
    report = surpriseReport();
    const files = writeReports(path.join(runsDir(), 'report-render'), report);
    const html = files.find((f) => f.endsWith('report.html')) as string;
    selected = report.cells.findIndex((rc) => rc.agreement === 'differs' && rc.verdict === 'wrong-data');
    assert.ok(selected >= 0, 'the fixture has the hostile wrong-data cell');
    url = `file://${html}#cell-${selected}`;
    page = loadPage(url);
    dom = page.dom;
  });

  after(function () {
    closePage(page);
  });

  it("the script builds every kernel's grid, one verdict-coloured cell per grid cell of the report", function () {
    assert.match(dom, /<body[^>]* data-ready="true"/, 'the script ran to its end');
    const data = pageData(report);
    data.grids.forEach((g, k) => {
      const [, grid] = new RegExp(`<div class="grid-host" id="grid-${k}"><table class="grid">([\\s\\S]*?)</table>`).exec(dom) ?? [];
      assert.ok(grid !== undefined, `grid of ${g.kernel} built`);
      const cells = [...grid.matchAll(/<td class="cell (v-[a-z-]+) a-[a-z-]+(?: selected)?"[^>]*data-cell="(\d+)"/g)];
      const expected = g.slots.flat().filter((s): s is number => s !== null && s >= 0);
      assert.deepEqual(
        cells.map((m) => Number(m[2])),
        expected,
        `${g.kernel}: a cell per grid slot, in order`,
      );
      for (const m of cells) assert.equal(m[1], `v-${data.cells[Number(m[2])]?.rc.verdict}`, 'coloured by its verdict');
    });
    for (const v of ['v-ok', 'v-refused', 'v-wrong-data', 'v-user-signal', 'v-kernel-complaint', 'v-error']) {
      assert.ok(dom.includes(`<td class="cell ${v} `), `some grid cell is ${v}`);
    }
    assert.ok(dom.includes('class="cell v-wrong-data a-differs selected"'), 'the selected cell is marked');
  });

  it("the details panel shows the selected cell's evidence, the hostile kmsg line as text only", function () {
    const [, shown, text] = /<aside id="details" data-shown="(\d+)">([\s\S]*?)<\/aside>/.exec(dom) ?? [];
    assert.ok(shown !== undefined && text !== undefined, 'the panel was filled');
    assert.equal(Number(shown), selected);
    for (const label of [
      'kernel',
      'predicted',
      'reason',
      'observation record',
      'headline',
      'taint gained',
      'probe observation',
      'kmsg window (2 lines)',
      'stats',
    ]) {
      assert.ok(text.includes(label), `panel shows ${label}`);
    }
    assert.ok(text.includes('BUG: Bad page state &lt;/script&gt;&lt;img src=x onerror="alert(1)"&gt;'), 'kmsg line shown as text');
    assert.ok(text.includes('\\x01\\x1b[31m\\x00'), 'control characters made visible');
    assert.doesNotMatch(dom, /<img/i, 'no element was created from report text');
  });

  it('takes a 1400x1000 screenshot at runs/report-screenshot.png', function () {
    const shot = path.join(runsDir(), 'report-screenshot.png');
    fs.rmSync(shot, { force: true });
    const { ms } = chromium((page as LoadedPage).profile, [`--screenshot=${shot}`, '--window-size=1400,1000'], url);
    process.stdout.write(`      --screenshot took ${ms} ms: ${shot}\n`);
    assert.deepEqual(pngSize(shot), { width: 1400, height: 1000 });
    assert.ok(fs.statSync(shot).size > 20_000, 'not a blank page');
  });
});
