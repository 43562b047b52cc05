/**
 * lib/report/markdown and the shared view (lib/report/view): the grid per
 * kernel with its symbols and marks, the claims table, the surprises and
 * the flaky cells; report text escaped for Markdown.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { CELL_METHODS } from '../../lib/experiments/types';
import { md } from '../../lib/report/escape';
import { renderMarkdown } from '../../lib/report/markdown';
import { cellSymbol, gridFor, isGridCell, surprises } from '../../lib/report/view';
import { expectedResults, filesSection, HOSTILE_KMSG, K61, K612, KERNELS, report, run, spec, surpriseReport } from './report-fixture';

function section(text: string, title: string): string {
  const start = text.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `section ${title}`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The grid row of an allocator label in a kernel's section, as cells. */
function gridRow(text: string, kernel: string, label: string): string[] {
  const line = section(text, md(kernel))
    .split('\n')
    .find((l) => l.startsWith(`| \`${label}\` |`));
  assert.ok(line, `${kernel} row ${label}`);
  return line
    .split(' | ')
    .slice(1)
    .map((s) => s.replace(/ \|$/, ''));
}

describe('report.md (lib/report/markdown.ts)', function () {
  const r = surpriseReport();
  const text = renderMarkdown(r);

  it('has a grid per kernel: every allocator x size row, every method column, the basic cells only', function () {
    for (const k of KERNELS) {
      const g = gridFor(r, k.release);
      assert.equal(g.rows.length, 13, 'kmalloc twice (4K, 64K) and the eleven other allocators');
      assert.equal(g.methods.length, CELL_METHODS.length);
      const basic = CATALOGUE.filter(isGridCell).length;
      assert.equal(g.slots.flat().filter((s) => s.kind === 'cell').length, basic);
      assert.ok(section(text, md(k.release)).includes('| allocator \\ method | `remap_pfn_range` |'));
    }
    assert.deepEqual(gridRow(text, K61, 'kmalloc 4K').slice(0, 6), ['✓', '✗', '⚠', '⚠', '✗', '✗']);
  });

  it('marks a cell that only matches its observation record (°)', function () {
    assert.equal(gridRow(text, K612, 'kmalloc 4K')[2], '✓°', 'the slab fault hazard ok on 6.12, as recorded');
  });

  it('marks a cell that differs (!), a flaky one (~, every outcome seen) and an error (?!)', function () {
    const k61 = gridRow(text, K61, 'vmalloc_user 16K');
    assert.equal(k61[8], '≠!', 'remap_vmalloc_range observed wrong-data');
    assert.equal(gridRow(text, K612, 'pages_nocomp 16K')[2], '⚠✓\\~', '~ escaped for Markdown');
    assert.equal(gridRow(text, K612, 'pages_array 16K')[5], '?!');
  });

  it('shows · for a catalogue cell this run did not include', function () {
    const partial = renderMarkdown(report([run(K61, spec('kmalloc/remap_pfn_range/4K/basic'), 'ok')]));
    const row = gridRow(partial, K61, 'kmalloc 4K');
    assert.deepEqual(row.slice(0, 3), ['✓', '·', '·']);
    assert.ok(
      gridRow(partial, K612, 'kmalloc 64K').every((s) => s === '·'),
      'a kernel with no cells shows only ·',
    );
  });

  it('lists the non-grid cells under the grid', function () {
    assert.ok(
      section(text, md(K61)).includes(
        '| `kmalloc/fault_page/4K/write-first` | ⚠ kernel-complaint (bad-page-state) | kernel-complaint, or also: oops, panic, hang |',
      ),
    );
  });

  it("has the claims table: claim, its cells, per kernel the status and each cell's verdict", function () {
    const claims = section(text, 'Claims');
    const row = claims.split('\n').find((l) => l.includes('(folklore; `kmalloc-fault-bad-page`)'));
    assert.ok(row, 'kmalloc-fault-bad-page row');
    const cols = row.split(' | ');
    assert.equal(
      cols[1],
      '*status*<br>`kmalloc/fault_page/4K/basic`<br>`kmalloc/fault_page/64K/basic`<br>`kmalloc/fault_page/4K/write-first`',
    );
    assert.equal(
      cols[2],
      '**mixed** (2 hold, 1 fail)<br>⚠ kernel-complaint (bad-page-state)<br>✓ ok<br>⚠ kernel-complaint (bad-page-state)',
    );
    assert.equal(cols[3], '**mixed** (1 hold, 2 fail)<br>✓ ok<br>✓ ok<br>⚠ kernel-complaint (bad-page-state)');
    assert.equal(cols[4], '**contradicts** (0 hold, 1 fail)<br>✓ ok<br>·<br>· |', 'the 5.10 kernel ran one of the cells');
  });

  it('lists every surprise with its headline, the prediction and its reason, and the observation record, escaped', function () {
    const s = section(text, 'Surprises');
    assert.equal(s.split('\n').filter((l) => l.startsWith('- ')).length, surprises(r).length);
    assert.equal(surprises(r).length, 6);
    assert.ok(s.includes(`  - observed: ${md(HOSTILE_KMSG)}`));
    assert.ok(!s.includes('<img'), 'no raw markup from the kmsg line');
    assert.ok(
      s.includes('`5.10.0-30-amd64` `pages_comp/vm_insert_folio/16K/basic`: ✓\\* **ok** (no prediction for this kernel series)'),
      s,
    );
    assert.ok(s.includes('`5.10.0-30-amd64` `kmalloc/fault_page/4K/basic`: ✓! **ok** (differs from its prediction)'), s);
    assert.ok(
      s.includes(`\`${K612}\` \`kmalloc/fault_page/4K/basic\`: ✓° **ok** (contradicts its prediction, as recorded (observation record))`),
      s,
    );
    assert.match(s, / {2}- observation record: ok on 6\.12: seen on 6\.12 on most runs/);
    assert.match(s, /predicted: ok - a supported allocator\/method pair used as its API documents/);
  });

  it('the header counts predictions met apart from cells that only matched an observation record', function () {
    // differs: the hostile wrong-data cell, the harness error and the slab hazard ok on 5.10.
    assert.match(
      text,
      /\. \d+ cells: \d+ meet their prediction, 1 only match an observation record, 3 differ, 1 flaky, 1 without prediction\./,
    );
  });

  it('has a flaky section with the distribution', function () {
    const f = section(text, 'Flaky cells');
    assert.ok(f.includes(`| \`${K612}\` | \`pages_nocomp/fault_page/16K/basic\` | 3 | 2x kernel-complaint bad-page-state, 1x ok |`));
  });

  it('says so when nothing surprised', function () {
    const calm = renderMarkdown(report(expectedResults()));
    assert.ok(section(calm, 'Surprises').includes('None: every cell met its prediction.'));
    assert.ok(section(calm, 'Flaky cells').includes('None'));
  });

  it('cellSymbol: most frequent outcome first, then the mark', function () {
    const rc = r.cells.find((x) => x.kernel === K612 && x.cell.id === 'pages_nocomp/fault_page/16K/basic');
    assert.ok(rc);
    assert.equal(cellSymbol(rc), '⚠✓~');
  });

  it('md() escapes markup, table pipes, entities and newlines', function () {
    assert.equal(md('a|b <i>*x*</i> & _y_\n`z` $m$'), 'a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; &amp; \\_y\\_ \\`z\\` \\$m\\$');
  });

  it('has a files section only when the run measured them: measurements and the statements answered', function () {
    assert.ok(!text.includes('## Files'), 'no section without measurements');
    const withFiles = renderMarkdown({ ...r, files: filesSection() });
    const files = section(withFiles, 'Files: how writes through a mapping reach the backing store');
    for (const k of KERNELS) {
      assert.ok(
        files.includes(`| ${md(k.release)} | ${md('page_cache')} | msync-sync | 16/16 | 1.3 | 2.5 | fsync 16 | yes |  |`),
        k.release,
      );
      assert.ok(files.includes(`| ${md(k.release)} | ${md('page_cache')} | munmap | 0/16 | - | - | - | yes |`), k.release);
    }
    assert.ok(!files.includes('<b>'), 'notes are escaped');
    assert.ok(files.includes(`| changes reach the backing store after munmap() |`));
    assert.ok(files.includes(`| contradicts: ${md('page_cache')} munmap: 0/16 (no path) |`));
  });
});
