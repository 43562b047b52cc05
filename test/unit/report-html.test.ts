/**
 * lib/report/html: one self-contained page (nothing loaded from anywhere),
 * a grid section per kernel with its data embedded as JSON that cannot be
 * broken out of, and every report text escaped. The script itself runs in
 * Chromium: test/vm/html-render.test.ts.
 */
import { strict as assert } from 'node:assert';
import { renderHtml, type PageData } from '../../lib/report/html';
import { html, scriptJson } from '../../lib/report/escape';
import { CLAIMS } from '../../lib/experiments/claims';
import { gridFor, reportKernels } from '../../lib/report/view';
import { filesSection, HOSTILE_KMSG, K61, KERNELS, surpriseReport } from './report-fixture';

function embedded(page: string): PageData {
  const [, json] = /<script type="application\/json" id="mmaplab-data">([^<]*)<\/script>/.exec(page) ?? [];
  assert.ok(json !== undefined, 'the data script element, with no "<" inside');
  return JSON.parse(json) as PageData;
}

describe('report.html (lib/report/html.ts)', function () {
  const r = surpriseReport();
  const page = renderHtml(r);

  it('is self-contained: no http(s) reference, no src/href but in-page anchors, no stylesheet or font loads', function () {
    assert.doesNotMatch(page, /https?:\/\//i);
    assert.doesNotMatch(page, /\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, 'no protocol-relative URL');
    assert.doesNotMatch(page, /<link\b|@import|@font-face|url\(/i);
    const refs = [...page.matchAll(/\b(src|href)\s*=\s*"([^"]*)"/gi)].flatMap(([, , ref]) => (ref === undefined ? [] : [ref]));
    assert.ok(refs.length > 0, 'cell links exist');
    assert.ok(
      refs.every((h) => /^#cell-\d+$/.test(h)),
      `only in-page anchors: ${refs.filter((h) => !h.startsWith('#')).join(' ')}`,
    );
    assert.equal((page.match(/<script\b/g) ?? []).length, 2, 'the data and the inline script');
    assert.equal((page.match(/<\/script>/g) ?? []).length, 2);
  });

  it('has a grid section per kernel, and the grid data for each', function () {
    const data = embedded(page);
    const kernels = reportKernels(r);
    assert.equal(kernels.length, 3);
    kernels.forEach((k, i) => {
      assert.ok(page.includes(`<section class="kernel" data-kernel="${html(k.release)}"><h2>${html(k.release)}</h2>`));
      assert.ok(page.includes(`<div class="grid-host" id="grid-${i}"></div>`));
      const g = data.grids[i];
      assert.ok(g);
      assert.equal(g.kernel, k.release);
      assert.deepEqual(
        g.rows,
        gridFor(r, k.release).rows.map((x) => x.label),
      );
      for (const slot of g.slots.flat()) {
        if (slot !== null && slot >= 0) {
          assert.equal(data.cells[slot]?.rc.kernel, k.release);
          assert.equal(data.cells[slot]?.rc.cell.scenario, 'basic');
        }
      }
    });
    assert.equal(data.cells.length, r.cells.length);
  });

  it('escapes a hostile kmsg line: no markup escapes into the page, the JSON carries it intact', function () {
    assert.ok(!page.includes('<img'), 'the <img> of the kmsg line is not markup');
    assert.ok(page.includes(html(HOSTILE_KMSG)), 'the surprises table shows it escaped');
    assert.ok(page.includes('&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'));
    const data = embedded(page);
    const rc = data.cells.find((c) => c.rc.kernel === K61 && c.rc.cell.id === 'vmalloc_user/remap_vmalloc_range/16K/basic');
    assert.deepEqual(rc?.rc.runs[0]?.evidence.kmsg, [HOSTILE_KMSG, 'second line'], 'every character survives, even control ones');
    assert.equal(rc?.rc.headline, HOSTILE_KMSG);
  });

  it('scriptJson has no "<", ">" or "&" and reads back with JSON.parse', function () {
    const v = { s: '</script><!-- & \u2028 \u2029 >' };
    const j = scriptJson(v);
    assert.doesNotMatch(j, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(j), v);
  });

  it('shows the claims, the surprises and the flaky cells as static tables', function () {
    assert.equal((page.match(/<tr class="claim" data-claim="/g) ?? []).length, CLAIMS.length);
    assert.ok(page.includes('<span class="badge s-mixed">mixed</span>'));
    assert.equal((page.match(/<table class="list surprises">/g) ?? []).length, 1);
    assert.ok(page.includes('<h2>Flaky cells</h2><table class="list flaky">'));
  });

  it('has a files section only when the run measured them, every text escaped', function () {
    assert.ok(!page.includes('class="files"'));
    const withFiles = renderHtml({ ...r, files: filesSection() });
    const start = withFiles.indexOf('<section class="files">');
    assert.ok(start > 0);
    const files = withFiles.slice(start, withFiles.indexOf('</section>', start));
    for (const k of KERNELS) assert.ok(files.includes(`<td>${html(k.release)}</td><td>page_cache</td><td>msync-sync</td><td>16/16</td>`));
    assert.ok(files.includes('&lt;b&gt;|pipe|&lt;/b&gt;') && !files.includes('<b>'), 'notes are escaped');
    assert.ok(files.includes('<table class="list files-claims">'));
  });
});
