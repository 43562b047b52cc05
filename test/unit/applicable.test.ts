/**
 * Cells a kernel cannot run: a kernel built without an option a use needs
 * (no CONFIG_TRANSPARENT_HUGEPAGE on Debian's PREEMPT_RT kernels) leaves
 * that use's cells out, and every report says which and why.
 */
import { strict as assert } from 'node:assert';
import { applicableCells, notApplicableLine } from '../../lib/experiments/applicable';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { agreementSummary } from '../../lib/cli/exit';
import { mergeReports } from '../../lib/cli/merge';
import { renderHtml } from '../../lib/report/html';
import { renderMarkdown } from '../../lib/report/markdown';
import type { ReportKernel } from '../../lib/report/schema';
import { configValue, optionEnabled } from '../../lib/vm/kernel-config';
import { K61, K612, report, run, spec } from './report-fixture';
import { at } from '../../lib/util/at';

const WITH_THP = 'CONFIG_MMU=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE=y\n';
const WITHOUT_THP =
  '# Automatically generated file; DO NOT EDIT.\nCONFIG_PREEMPT_RT=y\nCONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE=y\n# CONFIG_TRANSPARENT_HUGEPAGE is not set\n';
const THP_USES = ['thp-always', 'thp-madvise', 'thp-never'];

describe('cells a kernel cannot run (lib/experiments/applicable)', () => {
  it('reads a .config: set options with their values, "is not set" lines and comments are not options', () => {
    assert.equal(configValue(WITHOUT_THP, 'PREEMPT_RT'), 'y');
    assert.equal(configValue(WITHOUT_THP, 'TRANSPARENT_HUGEPAGE'), 'n');
    assert.equal(optionEnabled(WITHOUT_THP, 'CONFIG_TRANSPARENT_HUGEPAGE'), false);
    assert.equal(optionEnabled(WITH_THP, 'CONFIG_TRANSPARENT_HUGEPAGE'), true);
    assert.equal(optionEnabled('CONFIG_KSM=m\n', 'CONFIG_KSM'), true);
    assert.equal(optionEnabled('CONFIG_PHYSICAL_START=0x1000000\n', 'CONFIG_PHYSICAL_START'), false);
  });

  it('without CONFIG_TRANSPARENT_HUGEPAGE the THP-mode use cells are left out, and only those', () => {
    const got = applicableCells(CATALOGUE, WITHOUT_THP);
    const thp = CATALOGUE.filter((c) => c.use !== undefined && THP_USES.includes(c.use));
    assert.ok(thp.length > 0);
    assert.equal(got.cells.length, CATALOGUE.length - thp.length);
    assert.ok(got.cells.every((c) => c.use === undefined || !THP_USES.includes(c.use)));
    assert.ok(
      got.cells.some((c) => c.use === 'madv-hugepage'),
      'madvise(MADV_HUGEPAGE) still runs: its EINVAL is an observation',
    );
    assert.deepEqual(got.notApplicable, [{ requires: 'CONFIG_TRANSPARENT_HUGEPAGE', uses: THP_USES, cells: thp.map((c) => c.id) }]);
    assert.equal(
      notApplicableLine(at(got.notApplicable, 0, 'the first not-applicable entry')),
      `${thp.length} cell(s) not applicable: no CONFIG_TRANSPARENT_HUGEPAGE (use:thp-always, use:thp-madvise, use:thp-never)`,
    );
  });

  it('with the option, or with no .config to read, every cell runs', () => {
    for (const config of [WITH_THP, null]) {
      const got = applicableCells(CATALOGUE, config);
      assert.equal(got.cells.length, CATALOGUE.length);
      assert.deepEqual(got.notApplicable, []);
    }
  });

  describe('in the reports', () => {
    const cell = spec('kmalloc/remap_pfn_range/4K/basic');
    const left = { requires: 'CONFIG_TRANSPARENT_HUGEPAGE', uses: ['thp-always'], cells: ['kmalloc/remap_pfn_range/2M/use:thp-always'] };
    const kernels: ReportKernel[] = [
      { release: K61, series: '6.1', accel: 'tcg', boots: 1, notApplicable: [left] },
      { release: K612, series: '6.12', accel: 'tcg', boots: 1 },
    ];
    const r = report([run(K61, cell, 'ok'), run(K612, cell, 'ok')], kernels);
    const line = '1 cell(s) not applicable: no CONFIG_TRANSPARENT_HUGEPAGE (use:thp-always)';

    it('report.md and report.html say it under that kernel only', () => {
      const text = renderMarkdown(r);
      const at = text.indexOf(`## ${K61}`);
      const next = text.indexOf(`## ${K612}`);
      assert.ok(at >= 0 && next > at);
      assert.ok(text.slice(at, next).includes(line.replace(/_/g, '\\_')) || text.slice(at, next).includes(line), text.slice(at, at + 400));
      assert.equal(text.slice(next).includes('not applicable'), false);
      assert.match(renderHtml(r), /not run on this kernel: 1 cell\(s\) not applicable: no CONFIG_TRANSPARENT_HUGEPAGE/);
    });

    it("the run's summary line counts them", () => {
      assert.match(agreementSummary(r), /^2 cells: .*; 1 not applicable \(the kernel lacks an option they need\)$/);
    });

    it('a cell one merged input ran is not listed as not applicable from another', () => {
      const thp = spec('kmalloc/remap_pfn_range/2M/use:thp-always');
      const a = report([run(K61, thp, 'ok')], [{ release: K61, series: '6.1', accel: 'tcg', boots: 1 }]);
      const b = report([run(K61, cell, 'ok')], [{ ...at(kernels, 0, 'the first kernel'), notApplicable: [{ ...left, cells: [thp.id] }] }]);
      const merged = mergeReports([
        { file: 'a.json', report: a },
        { file: 'b.json', report: b },
      ]);
      assert.equal(merged.kernels.find((x) => x.release === K61)?.notApplicable, undefined);
    });

    it('merged shards join the cells left out, each once', () => {
      const other = { ...left, uses: ['thp-never'], cells: ['kmalloc/fault_page/2M/use:thp-never'] };
      const k61 = at(kernels, 0, 'the first kernel');
      const a = report([run(K61, cell, 'ok')], [{ ...k61, notApplicable: [left] }]);
      const b = report(
        [run(K61, spec('kmalloc/remap_pfn_range/64K/basic'), 'ok')],
        [{ ...k61, notApplicable: [left, other].map((n) => ({ ...n })) }],
      );
      const merged = mergeReports([
        { file: 'a.json', report: a },
        { file: 'b.json', report: b },
      ]);
      const k = merged.kernels.find((x) => x.release === K61);
      assert.deepEqual(k?.notApplicable, [
        { requires: 'CONFIG_TRANSPARENT_HUGEPAGE', uses: ['thp-always', 'thp-never'], cells: [left.cells[0], other.cells[0]] },
      ]);
    });
  });
});
