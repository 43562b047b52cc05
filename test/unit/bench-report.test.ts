/**
 * The writers of `mmaplab bench` results: stat(), every comparison and
 * target of lib/bench/ratios.ts (including the ones that cannot be judged),
 * reading bench.json back (lib/bench/schema.ts), and the benchmark section
 * in HTML and Markdown with the files bench-write.ts puts on disk. The
 * figures come from bench-fixture.ts, chosen so each ratio is known.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  addonViews,
  allTargets,
  batchingViews,
  faultAroundViews,
  harnessView,
  judge,
  mapCostViews,
  matrixTarget,
  perPage,
  ratio,
  refusedRows,
  restoreView,
  sizeLabel,
  targetCounts,
  type MapCostView,
  type TargetId,
} from '../../lib/bench/ratios';
import { readBenchReport, validateBenchReport } from '../../lib/bench/schema';
import { stat } from '../../lib/bench/stat';
import type { BenchReport, HarnessBench, KernelBench, MapCostRow, RestoreBench } from '../../lib/bench/types';
import { benchSectionHtml, benchSectionMarkdown, TCG_NOTE } from '../../lib/report/bench-section';
import { renderBenchHtml, renderBenchMarkdown, writeBenchOutputs } from '../../lib/report/bench-write';
import { html } from '../../lib/report/escape';
import type { MmaplabError } from '../../lib/util/errors';
import { HAZARD_CELL, HOSTILE_REASON, K61, K612, KIB64, MIB2, RESTORE_FAILURE_612, benchFixture, st } from './bench-fixture';
import { caught } from './caught';
import { deleteAt, setAt } from './json-edit';
import { at } from '../../lib/util/at';

function kernelOf(r: BenchReport, name: string): KernelBench {
  const k = r.kernels.find((x) => x.kernel === name);
  assert.ok(k, `fixture has ${name}`);
  return k;
}

function view(
  k: KernelBench,
  label: { alloc: string | null; method: string; size: number; cache?: string; faultAround?: boolean },
): MapCostView {
  const v = mapCostViews(k).find(
    (x) =>
      x.row.alloc === label.alloc &&
      x.row.method === label.method &&
      x.row.size === label.size &&
      x.row.cache === (label.cache ?? 'wb') &&
      x.row.faultAround === (label.faultAround ?? false),
  );
  assert.ok(v, `a view of ${label.alloc}/${label.method} ${label.size}`);
  return v;
}

function close(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: a figure`);
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 1e-9, `${what}: ${actual} is ${expected}`);
}

function harnessOf(k: KernelBench): HarnessBench {
  assert.ok(k.harness !== null, `${k.kernel} has harness figures`);
  return k.harness;
}

/** A deep copy, as bench.json would give it back. */
function copy(r: BenchReport): BenchReport {
  return JSON.parse(JSON.stringify(r)) as BenchReport;
}

describe('stat() (lib/bench/stat.ts)', function () {
  it('gives the middle value of an odd count, with min, max and n', function () {
    assert.deepEqual(stat([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
    assert.deepEqual(stat([7]), { median: 7, min: 7, max: 7, n: 1 });
  });

  it('gives the mean of the two middle values of an even count, sorting numerically', function () {
    assert.deepEqual(stat([10, 2, 4, 100]), { median: 7, min: 2, max: 100, n: 4 });
  });

  it('leaves its input as it was', function () {
    const xs = [3, 1, 2];
    stat(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });

  it('refuses an empty list and non-finite values with a MmaplabError', function () {
    // Only the type is asserted: the codes are lib/bench/stat.ts's author's to choose.
    assert.match(caught(() => stat([])).message, /at least one value/);
    assert.match(caught(() => stat([1, Number.NaN])).message, /finite numbers only, got NaN/);
    assert.match(caught(() => stat([Infinity])).message, /finite numbers only, got Infinity/);
  });
});

describe('bench ratios (lib/bench/ratios.ts)', function () {
  const r = benchFixture();
  const k61 = kernelOf(r, K61);
  const k612 = kernelOf(r, K612);

  it('ratio() is null when a side is missing, Infinity over zero, null for 0/0', function () {
    assert.equal(ratio(6, 3), 2);
    assert.equal(ratio(null, 3), null);
    assert.equal(ratio(3, undefined), null);
    assert.equal(ratio(4, 0), Infinity);
    assert.equal(ratio(0, 0), null);
  });

  it('perPage() divides median, min and max by the pages and keeps n; sizeLabel() names sizes', function () {
    assert.deepEqual(perPage({ median: 160, min: 80, max: 320, n: 3 }, 16), { median: 10, min: 5, max: 20, n: 3 });
    assert.equal(perPage(undefined, 16), null);
    assert.equal(sizeLabel(4096), '4 KiB');
    assert.equal(sizeLabel(MIB2), '2 MiB');
    assert.equal(sizeLabel(64 * 1024 * 1024), '64 MiB');
    assert.equal(sizeLabel(1536 * 1024), '1536 KiB');
    assert.equal(sizeLabel(1000), '1000 B');
  });

  it('judge() compares with the threshold in the right direction, tolerating the last bit of rounding', function () {
    assert.equal(judge('wb-throughput', 0.95), 'met');
    assert.equal(judge('wb-throughput', (1.6e9 * 0.95) / 1.6e9), 'met');
    assert.equal(judge('wb-throughput', 0.9499), 'not met');
    assert.equal(judge('addon-overhead', 1.5), 'met');
    assert.equal(judge('addon-overhead', 1.51), 'not met');
    assert.equal(judge('agent-ready', 2500), 'met');
    assert.equal(judge('agent-ready', 2501), 'not met');
    assert.equal(judge('restore-ready', 0.3), 'met');
    assert.equal(judge('restore-ready', 0.31), 'not met');
    assert.equal(judge('hazard-cell', 2000), 'met');
    assert.equal(judge('hazard-cell', 2001), 'not met');
  });

  it('per row: ns/page of mmap, touches and munmap, each over the lazy anon baseline of the same size', function () {
    for (const size of [KIB64, MIB2]) {
      const v = view(k61, { alloc: 'pages_array', method: 'vm_insert_page', size });
      close(v.perPage.mmap?.median, 1500, 'mmap ns/page');
      close(v.perPage.mmap?.min, 1350, 'mmap ns/page min');
      close(v.perPage.mmap?.max, 1725, 'mmap ns/page max');
      close(v.perPage.touchRead?.median, 250, 'read touch ns/page');
      close(v.perPage.touchWrite?.median, 300, 'write touch ns/page');
      close(v.perPage.munmap?.median, 900, 'munmap ns/page');
      close(v.vsAnon.mmap, 1500 / 140, 'mmap ×anon');
      close(v.vsAnon.touchRead, 250 / 2500, 'read touch ×anon');
      close(v.vsAnon.touchWrite, 300 / 3000, 'write touch ×anon');
      close(v.vsAnon.munmap, 900 / 1200, 'munmap ×anon');
    }
  });

  it('per row: mmap + write touch against anon + MAP_POPULATE, what populating costs', function () {
    close(
      view(k61, { alloc: 'pages_array', method: 'vm_insert_page', size: KIB64 }).mapWriteVsPopulate,
      (1500 + 300) / (2800 + 350),
      'vm_insert_page',
    );
    close(
      view(k61, { alloc: 'pages_array', method: 'fault_page', size: MIB2 }).mapWriteVsPopulate,
      (50 + 3600) / (2800 + 350),
      'fault_page',
    );
    close(view(k61, { alloc: null, method: 'anon', size: KIB64 }).mapWriteVsPopulate, (140 + 3000) / (2800 + 350), 'lazy anon');
  });

  it('per row: read and write throughput over anon; the wb target met at 0.95 and above, judged on the worse of the two', function () {
    const v = view(k61, { alloc: 'pages_array', method: 'vm_insert_page', size: KIB64 });
    close(v.throughputVsAnon.read, 0.97, 'read ×anon');
    close(v.throughputVsAnon.write, 0.96, 'write ×anon');
    assert.equal(v.wbTarget?.status, 'met');
    close(v.wbTarget?.value, 0.96, 'the worse of the two');
    const edge = view(k61, { alloc: 'pages_array', method: 'remap_pfn_range', size: KIB64 });
    assert.equal(edge.wbTarget?.status, 'met', 'exactly 0.95 meets the target');
    const below = view(k612, { alloc: 'pages_array', method: 'remap_pfn_range', size: KIB64 });
    assert.equal(below.wbTarget?.status, 'not met');
    close(below.wbTarget?.value, 0.93, 'the failing write ratio');
    assert.equal(below.wbTarget?.kernel, K612);
    assert.equal(below.wbTarget?.subject, 'pages_array/remap_pfn_range 64 KiB');
  });

  it('wc and uc rows have their ratios but no target; baselines have none either', function () {
    const wc = view(k61, { alloc: 'pages_comp', method: 'remap_pfn_range', size: KIB64, cache: 'wc' });
    close(wc.throughputVsAnon.read, 0.04, 'wc read');
    assert.equal(wc.wbTarget, null);
    assert.equal(view(k61, { alloc: 'pages_comp', method: 'remap_pfn_range', size: KIB64, cache: 'uc' }).wbTarget, null);
    assert.equal(view(k61, { alloc: null, method: 'anon', size: KIB64 }).wbTarget, null);
    assert.equal(view(k61, { alloc: null, method: 'anon_populate', size: KIB64 }).wbTarget, null);
  });

  it('a wb row without throughput is not measured, saying whose figure is missing', function () {
    const v = view(k61, { alloc: 'dma_coherent', method: 'dma_mmap_coherent', size: KIB64 });
    assert.equal(v.throughputVsAnon.read, null);
    assert.deepEqual(
      { status: v.wbTarget?.status, value: v.wbTarget?.value, reason: v.wbTarget?.reason },
      { status: 'not measured', value: null, reason: 'no read and write throughput for this row' },
    );
  });

  it('without the anon baseline (absent or refused) there is no ratio and the target is not measured, never met', function () {
    const k = kernelOf(copy(r), K61);
    k.mapCost = k.mapCost.filter((x) => !(x.method === 'anon' && x.size === KIB64));
    const anon2m = k.mapCost.find((x) => x.method === 'anon' && x.size === MIB2) as MapCostRow;
    anon2m.refused = 'EINVAL: no memory';
    for (const size of [KIB64, MIB2]) {
      const v = view(k, { alloc: 'pages_array', method: 'vm_insert_pages', size });
      assert.deepEqual(v.vsAnon, { mmap: null, touchRead: null, touchWrite: null, munmap: null });
      assert.deepEqual(v.throughputVsAnon, { read: null, write: null });
      assert.equal(v.wbTarget?.status, 'not measured');
      assert.equal(v.wbTarget?.reason, 'no read and write throughput for the anon baseline of this size');
    }
  });

  it('one measured ratio below the target is already "not met" when the other is missing', function () {
    const k = kernelOf(copy(r), K61);
    const row = k.mapCost.find((x) => x.alloc === 'vmalloc_user' && x.size === KIB64) as MapCostRow;
    row.readBytesPerSec = st(2.0e9 * 0.5);
    delete row.writeBytesPerSec;
    const v = view(k, { alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: KIB64 });
    assert.equal(v.wbTarget?.status, 'not met');
    close(v.wbTarget?.value, 0.5, 'the read ratio');
    row.readBytesPerSec = st(2.0e9);
    assert.equal(view(k, { alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: KIB64 }).wbTarget?.status, 'not measured');
  });

  it('refused rows are left out of the figures and listed with their reason', function () {
    assert.ok(mapCostViews(k61).every((v) => v.row.refused === undefined));
    const refused = refusedRows(k61);
    assert.deepEqual(
      refused.map((x) => `${x.alloc}/${x.method} ${x.size}: ${x.refused}`),
      [`kmalloc/vm_insert_page ${KIB64}: ${HOSTILE_REASON}`, `kmalloc/vm_insert_page ${MIB2}: ${HOSTILE_REASON}`],
    );
  });

  it('fault-around: faults off/on and read touch off/on of the same allocator, size and cache; ≥ 8× meets the target', function () {
    const views = faultAroundViews(k61);
    assert.deepEqual(
      views.map((v) => [v.alloc, v.method, v.size, v.cache, v.faultsOff, v.faultsOn, v.mapPagesCallsOn]),
      [
        ['pages_array', 'fault_page', KIB64, 'wb', 16, 1, 1],
        ['pages_array', 'fault_page', MIB2, 'wb', 512, 32, 32],
      ],
    );
    for (const v of views) {
      close(v.faultRatio, 16, 'faults off/on');
      close(v.touchReadRatio, 3.4, 'read touch off/on');
      close(v.touchReadOff?.median, 3400, 'read touch off ns/page');
      close(v.touchReadOn?.median, 1000, 'read touch on ns/page');
      assert.equal(v.target.status, 'met');
    }
    const k612_64k = faultAroundViews(k612)[0];
    close(k612_64k?.faultRatio, 16 / 3, '6.12 at 64 KiB');
    assert.equal(k612_64k?.target.status, 'not met');
  });

  it('fault-around: a buffer with too few pages, a missing count or zero faults with fault-around', function () {
    const k = kernelOf(copy(r), K61);
    const pair = k.mapCost.filter((x) => x.method === 'fault_page' && x.size === KIB64);
    for (const x of pair) {
      x.size = 16384;
      x.pages = 4;
    }
    const small = faultAroundViews(k).find((v) => v.size === 16384);
    assert.equal(small?.target.status, 'not measured');
    assert.match(small?.target.reason ?? '', /4 page\(s\): too few to save 8× the faults/);

    const big = k.mapCost.filter((x) => x.method === 'fault_page' && x.size === MIB2);
    const on = big.find((x) => x.faultAround) as MapCostRow;
    on.faultsRead = 0;
    const zero = faultAroundViews(k).find((v) => v.size === MIB2);
    assert.equal(zero?.faultRatio, Infinity, '->map_pages mapped every page: no ->fault at all');
    assert.equal(zero?.target.status, 'met');
    delete on.faultsRead;
    const missing = faultAroundViews(k).find((v) => v.size === MIB2);
    assert.equal(missing?.faultRatio, null);
    assert.equal(missing?.target.status, 'not measured');
  });

  it('fault-around: a row with no off partner is not paired', function () {
    const k = kernelOf(copy(r), K61);
    k.mapCost = k.mapCost.filter((x) => !(x.method === 'fault_page' && !x.faultAround && x.size === MIB2));
    assert.deepEqual(
      faultAroundViews(k).map((v) => v.size),
      [KIB64],
    );
  });

  it('batching: mmap ns/page of each batching method over the vm_insert_page loop, per allocator and size', function () {
    const views = batchingViews(k61);
    assert.deepEqual(
      views.map((b) => [b.alloc, b.size]),
      [
        ['pages_array', KIB64],
        ['pages_array', MIB2],
      ],
      'pages_comp has remap_pfn_range alone, kmalloc a refused vm_insert_page alone: nothing to compare',
    );
    const b = views[0];
    assert.deepEqual(
      b?.entries.map((e) => e.method),
      ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages', 'remap_pfn_range'],
    );
    const byTech = new Map(b?.entries.map((e) => [e.method, e]));
    close(byTech.get('vm_insert_page')?.vsInsertPage, 1, 'the loop itself');
    close(byTech.get('vm_insert_pages')?.vsInsertPage, 500 / 1500, 'vm_insert_pages');
    close(byTech.get('vm_map_pages')?.vsInsertPage, 1400 / 1500, 'vm_map_pages');
    close(byTech.get('remap_pfn_range')?.vsInsertPage, 1100 / 1500, 'remap_pfn_range');
    close(byTech.get('vm_insert_pages')?.mmap?.median, 500, 'ns/page');
  });

  it('batching: with the loop refused there is no ratio, and the refusal is carried', function () {
    const k = kernelOf(copy(r), K61);
    const loop = k.mapCost.find((x) => x.alloc === 'pages_array' && x.method === 'vm_insert_page' && x.size === KIB64) as MapCostRow;
    loop.refused = 'EINVAL: refused';
    const b = batchingViews(k).find((x) => x.size === KIB64);
    assert.ok(b);
    assert.ok(b.entries.every((e) => e.vsInsertPage === null));
    assert.deepEqual(b.entries[0], { method: 'vm_insert_page', mmap: null, refused: 'EINVAL: refused', vsInsertPage: null });
  });

  it('addon overhead: TypeScript over C per size, ≤ 1.5× met', function () {
    const v = addonViews(k61);
    assert.deepEqual(
      v.map((x) => x.row.size),
      [KIB64, MIB2],
    );
    close(v[0]?.tsOverC, 1.25, '64 KiB');
    assert.equal(v[0]?.target.status, 'met');
    close(v[1]?.tsOverC, 1.6, '2 MiB');
    assert.equal(v[1]?.target.status, 'not met');
    assert.equal(v[1]?.target.subject, 'pages_array/vm_insert_pages 2 MiB');
  });

  it('harness: bzImage over vmlinux, and agent ready ≤ 2.5 s from the vmlinux median', function () {
    const a = harnessView(k61);
    close(a.bzimageOverVmlinux, 2.4, '6.1');
    assert.deepEqual([a.target.status, a.target.value], ['met', 1800]);
    const b = harnessView(k612);
    assert.deepEqual([b.target.status, b.target.value], ['not met', 2700]);
    const none = harnessView({ ...k61, harness: null });
    assert.equal(none.bzimageOverVmlinux, null);
    assert.equal(none.target.status, 'not measured');
    assert.match(none.target.reason ?? '', /not measured in this run/);
  });

  it("restore: restored and hazard-cell medians over the cold vmlinux boot's agent-ready median, and their targets", function () {
    const a = restoreView(k61);
    assert.deepEqual(a.coldReadyMs, st(1800), 'the cold boot is agentReadyVmlinuxMs');
    close(a.restoreOverBoot, 450 / 1800, '6.1 restored/cold');
    close(a.hazardCellOverBoot, 1500 / 1800, '6.1 hazard cell/cold');
    assert.deepEqual([a.readyTarget.status, a.readyTarget.value], ['met', 0.25]);
    assert.deepEqual([a.hazardTarget.status, a.hazardTarget.value], ['met', 1500]);
    assert.equal(a.hazardTarget.subject, `${HAZARD_CELL}, restored, to verdict (median)`);
    const b = restoreView(k612);
    close(b.restoreOverBoot, 1 / 3, '6.12 restored/cold');
    assert.equal(b.readyTarget.status, 'not met');
    assert.deepEqual([b.hazardTarget.status, b.hazardTarget.value], ['not met', 2600]);
  });

  it('restore: the harness part skipped leaves both restore targets not measured, saying so', function () {
    const v = restoreView({ ...k61, harness: null });
    assert.deepEqual([v.restore, v.coldReadyMs, v.restoreOverBoot, v.hazardCellOverBoot], [null, null, null, null]);
    for (const t of [v.readyTarget, v.hazardTarget]) {
      assert.equal(t.status, 'not measured');
      assert.match(t.reason ?? '', /harness part skipped/);
    }
  });

  it('restore: a figure no repetition measured has no ratio and its target is not measured, never met', function () {
    const harness = k612.harness as HarnessBench;
    const restore: RestoreBench = { ...harness.restore, restoreReadyMs: null, hazardCellMs: null };
    const v = restoreView({ ...k612, harness: { ...harness, restore } });
    assert.deepEqual([v.restoreOverBoot, v.hazardCellOverBoot], [null, null]);
    assert.deepEqual(
      [v.readyTarget.status, v.readyTarget.reason],
      ['not measured', 'no restored copy reached its agent (1 repetition(s) fell short)'],
    );
    assert.equal(v.hazardTarget.status, 'not measured');
    assert.match(v.hazardTarget.reason ?? '', /^no restored copy gave the hazard cell's verdict/);
    const silent = restoreView({ ...k612, harness: { ...harness, restore: { ...restore, failures: [] } } });
    assert.equal(silent.readyTarget.reason, 'no restored copy reached its agent');
  });

  it('matrix ≤ 5 min: from matrixWallMs, "not measured in this run" when null', function () {
    assert.deepEqual([matrixTarget(r).status, matrixTarget(r).value], ['not met', 22 * 60_000]);
    assert.equal(matrixTarget(benchFixture({ matrixWallMs: 4 * 60_000 })).status, 'met');
    const none = matrixTarget(benchFixture({ matrixWallMs: null }));
    assert.deepEqual([none.status, none.value, none.reason], ['not measured', null, 'not measured in this run']);
  });

  it('allTargets() lists every target for every kernel, and the matrix once', function () {
    const checks = allTargets(r);
    const ids: TargetId[] = ['wb-throughput', 'fault-around', 'addon-overhead', 'agent-ready', 'restore-ready', 'hazard-cell'];
    for (const k of [K61, K612])
      for (const id of ids)
        assert.ok(
          checks.some((c) => c.id === id && c.kernel === k),
          `${id} on ${k}`,
        );
    assert.equal(checks.filter((c) => c.id === 'matrix-wall').length, 1);
    // wb rows: 2 sizes x 9 (8 measured method rows, one of them with fault-around, and dma_coherent without throughput)
    assert.equal(checks.filter((c) => c.id === 'wb-throughput' && c.kernel === K61).length, 18);
    // 16 wb + 2 fault-around + 1 addon + agent ready + restore + hazard cell met; the 2 MiB addon cycle not met;
    // dma_coherent's 2 not measured
    assert.deepEqual(targetCounts(checks.filter((c) => c.kernel === K61)), { met: 22, 'not met': 1, 'not measured': 2 });
    assert.deepEqual(
      checks.filter((c) => c.kernel === K612 && (c.id === 'restore-ready' || c.id === 'hazard-cell')).map((c) => c.status),
      ['not met', 'not met'],
    );
  });

  it('a kernel that measured nothing has every target "not measured", none met', function () {
    const empty: BenchReport = {
      ...benchFixture({ matrixWallMs: null }),
      kernels: [{ kernel: 'k', mapCost: [], addonOverhead: [], harness: null }],
    };
    const checks = allTargets(empty);
    assert.equal(checks.length, 7);
    assert.ok(checks.every((c) => c.status === 'not measured' && c.value === null && (c.reason ?? '').length > 0));
  });
});

describe('bench.json schema (lib/bench/schema.ts)', function () {
  function bad(mutate: (j: unknown) => void): MmaplabError {
    const j = copy(benchFixture());
    mutate(j);
    const err = caught(() => validateBenchReport(j));
    assert.equal(err.code, 'EBENCHFORMAT');
    return err;
  }

  it('accepts the fixture as bench.json holds it, with and without a harness and matrix time', function () {
    const j = copy(benchFixture({ matrixWallMs: null }));
    kernelOf(j, K612).harness = null;
    assert.deepEqual(validateBenchReport(j), j);
    assert.ok(validateBenchReport(copy(benchFixture())));
  });

  it('accepts restore figures that no repetition measured as null, with the failures that say why', function () {
    const j = copy(benchFixture());
    const restore = harnessOf(kernelOf(j, K61)).restore;
    Object.assign(restore, { templateReadyMs: null, saveMs: null, loadedMs: null, restoreReadyMs: null, hazardCellMs: null });
    restore.failures = ['6.1.0-56-amd64 cannot be restored: no image root'];
    assert.deepEqual(validateBenchReport(j), j);
  });

  const cases: Array<[string, (j: unknown) => void, string, string]> = [
    ['an array', () => undefined, 'schema', 'expected "mmaplab-bench", got nothing'],
    ['another schema', (j) => setAt(j, 'schema', 'mmaplab-report'), 'schema', 'expected "mmaplab-bench", got string "mmaplab-report"'],
    ['a newer version', (j) => setAt(j, 'version', 3), 'version', 'expected 2, got number 3'],
    ['a version 1 report (no restore figures)', (j) => setAt(j, 'version', 1), 'version', 'expected 2, got number 1'],
    [
      'an unknown accelerator',
      (j) => setAt(j, 'environment.accel', 'xen'),
      'environment.accel',
      'expected one of "tcg", "kvm", "host", got string "xen"',
    ],
    ['a bad size option', (j) => setAt(j, 'options.sizes[1]', -5), 'options.sizes[1]', 'expected a number ≥ 1, got number -5'],
    [
      'a median that is text',
      (j) => setAt(j, 'kernels[1].mapCost[3].touchReadNs.median', '250'),
      'kernels[1].mapCost[3].touchReadNs.median',
      'expected number, got string "250"',
    ],
    [
      'a Stat whose min is above its median',
      (j) => setAt(j, 'kernels[0].mapCost[2].mmapNs.min', 1e12),
      'kernels[0].mapCost[2].mmapNs',
      'expected min ≤ median ≤ max, got min 1000000000000, median 9600, max 11040',
    ],
    [
      'a baseline row naming a method',
      (j) => setAt(j, 'kernels[0].mapCost[0].method', 'vm_insert_page'),
      'kernels[0].mapCost[0].method',
      'expected a baseline, "anon" or "anon_populate" (alloc is null), got string "vm_insert_page"',
    ],
    [
      'a method row naming a baseline',
      (j) => setAt(j, 'kernels[0].mapCost[3].method', 'anon'),
      'kernels[0].mapCost[3].method',
      'expected a method of pages_array, not a baseline, got string "anon"',
    ],
    [
      'an unknown allocator',
      (j) => setAt(j, 'kernels[1].mapCost[4].alloc', 'slab'),
      'kernels[1].mapCost[4].alloc',
      'expected one of "kmalloc", "vmalloc", "vmalloc_user", "pages_array", "pages_comp", "pages_split", "pages_nocomp", "dma_coherent", ... (13 in all), got string "slab"',
    ],
    [
      'an unknown cache',
      (j) => setAt(j, 'kernels[0].mapCost[5].cache', 'wt'),
      'kernels[0].mapCost[5].cache',
      'expected one of "wb", "wc", "uc", got string "wt"',
    ],
    [
      'a refusal that is not text',
      (j) => setAt(j, 'kernels[0].mapCost[13].refused', 22),
      'kernels[0].mapCost[13].refused',
      'expected string, got number 22',
    ],
    [
      'a negative fault count',
      (j) => setAt(j, 'kernels[0].mapCost[7].faultsRead', -1),
      'kernels[0].mapCost[7].faultsRead',
      'expected a number ≥ 0, got number -1',
    ],
    [
      'an addon row without its C figure',
      (j) => deleteAt(j, 'kernels[1].addonOverhead[0].cNs'),
      'kernels[1].addonOverhead[0].cNs',
      'expected object, got nothing',
    ],
    [
      'a harness without per-cell time',
      (j) => deleteAt(j, 'kernels[0].harness.perCellMs'),
      'kernels[0].harness.perCellMs',
      'expected object, got nothing',
    ],
    [
      'a harness without the restore figures',
      (j) => deleteAt(j, 'kernels[1].harness.restore'),
      'kernels[1].harness.restore',
      'expected object, got nothing',
    ],
    [
      'a restore figure left out instead of null',
      (j) => deleteAt(j, 'kernels[0].harness.restore.saveMs'),
      'kernels[0].harness.restore.saveMs',
      'expected object or null, got nothing',
    ],
    [
      'a restore figure that is a number',
      (j) => setAt(j, 'kernels[0].harness.restore.restoreReadyMs', 450),
      'kernels[0].harness.restore.restoreReadyMs',
      'expected object or null, got number 450',
    ],
    [
      'a restore Stat with no repetition',
      (j) => setAt(j, 'kernels[1].harness.restore.hazardCellMs.n', 0),
      'kernels[1].harness.restore.hazardCellMs.n',
      'expected a number ≥ 1, got number 0',
    ],
    [
      'a restore without its hazard cell',
      (j) => deleteAt(j, 'kernels[0].harness.restore.hazardCell'),
      'kernels[0].harness.restore.hazardCell',
      'expected string, got nothing',
    ],
    [
      'a restore failure that is not text',
      (j) => setAt(j, 'kernels[1].harness.restore.failures[0]', { run: 3 }),
      'kernels[1].harness.restore.failures[0]',
      'expected string, got object',
    ],
    ['kernels that are not a list', (j) => setAt(j, 'kernels', {}), 'kernels', 'expected array, got object'],
    ['a matrix time that is text', (j) => setAt(j, 'matrixWallMs', '5 min'), 'matrixWallMs', 'expected number or null, got string "5 min"'],
  ];
  for (const [what, mutate, where, says] of cases) {
    it(`refuses ${what}, naming ${where}`, function () {
      const err = what === 'an array' ? caught(() => validateBenchReport([])) : bad(mutate);
      assert.equal(err.code, 'EBENCHFORMAT');
      assert.equal(err.details['path'], where);
      assert.equal(err.message, `bench report: ${where}: ${says}`);
    });
  }

  it('refuses a value that is not an object at all, naming no path', function () {
    const err = caught(() => validateBenchReport(7));
    assert.equal(err.message, 'bench report: expected object, got number 7');
    assert.equal(err.details['path'], '');
  });

  describe('readBenchReport', function () {
    let dir: string;
    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-bench-schema-'));
    });
    afterEach(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('reads a bench.json back as the report written', function () {
      const file = path.join(dir, 'bench.json');
      fs.writeFileSync(file, JSON.stringify(benchFixture()));
      assert.deepEqual(readBenchReport(file), copy(benchFixture()));
    });

    it('EBENCHREAD for a missing file, EBENCHFORMAT for text that is not JSON or not a bench report', function () {
      assert.equal(caught(() => readBenchReport(path.join(dir, 'none.json'))).code, 'EBENCHREAD');
      const file = path.join(dir, 'bench.json');
      fs.writeFileSync(file, '{"schema": ');
      const notJson = caught(() => readBenchReport(file));
      assert.equal(notJson.code, 'EBENCHFORMAT');
      assert.match(notJson.message, /is not JSON/);
      const j = copy(benchFixture());
      setAt(j, 'kernels[0].mapCost[1].pages', 0.5);
      fs.writeFileSync(file, JSON.stringify(j));
      const err = caught(() => readBenchReport(file));
      assert.equal(err.code, 'EBENCHFORMAT');
      assert.equal(err.message, `${file}: kernels[0].mapCost[1].pages: expected an integer, got number 0.5`);
      assert.deepEqual(err.details, { file, path: 'kernels[0].mapCost[1].pages' });
    });
  });
});

/** Tags in order; fails on a close tag that does not match the open one, or one left open. Void elements and '/>' close themselves. */
function assertBalanced(markup: string): void {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'wbr']);
  const stack: string[] = [];
  for (const m of markup.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m as unknown as [string, string, string, string];
    const tag = name.toLowerCase();
    if (closing) {
      const open = stack.pop();
      assert.equal(open, tag, `</${tag}> at ${m.index} closes <${open}>`);
    } else if (!VOID.has(tag) && selfClosing !== '/') stack.push(tag);
  }
  assert.deepEqual(stack, [], 'every element closed');
  assert.doesNotMatch(
    markup.replace(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*?(\/?)>|<!DOCTYPE html>/g, ''),
    /[<>]/,
    'no stray < or > outside tags',
  );
}

function svgs(page: string): string[] {
  return [...page.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

describe('benchmark section in HTML (lib/report/bench-section.ts)', function () {
  const r = benchFixture();
  const section = benchSectionHtml(r);
  const page = renderBenchHtml(r);

  it('is well-formed: every element closed in order, every <svg> closed, nothing stray', function () {
    assertBalanced(section);
    assertBalanced(page);
    assert.equal((page.match(/<svg\b/g) ?? []).length, (page.match(/<\/svg>/g) ?? []).length);
    assert.ok(svgs(page).length > 0);
  });

  it('the test can fail: the checker rejects a chart left open and a stray <', function () {
    assert.throws(() => assertBalanced('<figure><svg><rect/></figure>'));
    assert.throws(() => assertBalanced('<p>a < b</p>'));
  });

  it('is self-contained: no URL, no script, no stylesheet or font to load', function () {
    assert.doesNotMatch(page, /https?:|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    assert.doesNotMatch(page, /<script|<link\b|@import|@font-face|url\(|\b(src|href)\s*=/i);
  });

  it('escapes every report text: the hostile refusal is shown as text, never as markup', function () {
    assert.doesNotMatch(page, /<script/i);
    assert.doesNotMatch(page, /<b>more/);
    assert.ok(section.includes(`<td>${html(HOSTILE_REASON)}</td>`), 'the refused table shows it escaped');
    const hostile: BenchReport = copy(r);
    hostile.environment.hostModel = '<img src=x onerror=alert(1)>';
    kernelOf(hostile, K61).kernel = '6.1"><svg onload=alert(1)>';
    const p = renderBenchHtml(hostile);
    assert.doesNotMatch(p, /<img|<svg onload/);
    assert.ok(p.includes('data-kernel="6.1&quot;&gt;&lt;svg onload=alert(1)&gt;"'));
    assertBalanced(p);
  });

  it('leads with the TCG note under TCG, and has none under KVM', function () {
    assert.ok(section.includes(`<p class="tcg-note"><strong>${html(TCG_NOTE)}</strong></p>`));
    assert.ok(section.indexOf('tcg-note') < section.indexOf('<table'), 'before any figure');
    assert.doesNotMatch(benchSectionHtml(benchFixture({ accel: 'kvm' })), /tcg-note/);
  });

  it('charts every required comparison per kernel, and the harness once', function () {
    const captions = [...section.matchAll(/<figcaption>([^<]*)<\/figcaption>/g)].map((m) => m[1]);
    for (const size of ['64 KiB', '2 MiB']) {
      assert.equal(captions.filter((c) => c === `First touch, ns per page, ${size}`).length, 2, `first touch ${size}, both kernels`);
      assert.equal(captions.filter((c) => c === `Throughput over anon, ${size}`).length, 2);
      assert.equal(captions.filter((c) => c === `Batching: mmap, ns per page, ${size}`).length, 2);
    }
    assert.equal(captions.filter((c) => c === html('->fault calls per read-touched mapping, fault-around off and on')).length, 2);
    assert.equal(captions.filter((c) => c?.startsWith('Addon overhead')).length, 2);
    assert.equal(captions.filter((c) => c === 'Harness: QEMU start to guest agent ready').length, 1);
    assert.equal(captions.length, 17);
  });

  it('the first-touch chart: a read and a write bar per configuration, the lazy anon baseline as two marker lines', function () {
    const chart = at(svgs(section), 0, 'the first chart');
    assert.match(chart, /<title>First touch, ns per page, 64 KiB<\/title>/);
    // 14 rows of the size: minus the refused one, minus anon (the marker) = 12 configurations.
    assert.equal((chart.match(/<rect class="bar"/g) ?? []).length, 24);
    assert.equal((chart.match(/class="marker"/g) ?? []).length, 2);
    assert.ok(chart.includes('anon read 2.50 µs') && chart.includes('anon write 3.00 µs'));
    assert.ok(chart.includes('3.40 µs [3.06–3.91]'), 'the fault_page read figure with its range');
  });

  it('refused rows are not charted but listed with their reason', function () {
    for (const chart of svgs(section)) assert.ok(!chart.includes('kmalloc'), 'no kmalloc row in any chart');
    const refused = /<table class="list bench-refused">([\s\S]*?)<\/table>/g;
    assert.equal([...section.matchAll(refused)].length, 2, 'one refused table per kernel');
  });

  it('tables give median [min–max] and the ratio columns', function () {
    const cost = /<table class="list bench-cost figures">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    assert.ok(
      cost.includes('<td>pages_array/vm_insert_pages</td><td>64 KiB</td><td>500 ns [450–575]</td><td>3.57×</td>'),
      'mmap ns/page and ×anon',
    );
    const fa = /<table class="list bench-fault-around figures">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    assert.ok(fa.includes('<td>16</td><td>1</td><td>16.0×</td>'), 'faults off, on, off/on');
    const addon = /<table class="list bench-addon figures">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    assert.ok(addon.includes('<td>1.25×</td><td><span class="badge s-supports" data-status="met">met</span> 1.25×</td>'));
    const harness = /<table class="list bench-harness figures">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    assert.ok(harness.includes(`<td>${html(K61)}</td><td>1800 ms [1620 ms–2070 ms]</td><td>4320 ms [3888 ms–4968 ms]</td><td>2.40×</td>`));
  });

  it("the harness chart has a restored-copy bar beside each kernel's two boot paths", function () {
    const chart = svgs(section).find((c) => c.includes('<title>Harness: QEMU start to guest agent ready</title>')) ?? '';
    assert.ok(chart.includes('>restored copy</text>'), 'a legend entry');
    assert.equal((chart.match(/<rect class="bar"/g) ?? []).length, 6, 'two kernels, three bars each');
    assert.ok(chart.includes('450 ms [405 ms–518 ms]') && chart.includes('900 ms [810 ms–1035 ms]'));
  });

  it('the restore table: each figure, restored/cold and hazard cell/cold, and both targets with their figure', function () {
    const table = /<table class="list bench-restore figures">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    const met = (text: string): string => `<td><span class="badge s-supports" data-status="met">met</span> ${text}</td>`;
    const notMet = (text: string): string => `<td><span class="badge s-contradicts" data-status="not met">not met</span> ${text}</td>`;
    assert.ok(
      table.includes(
        `<td>${html(K61)}</td><td>1800 ms [1620 ms–2070 ms]</td><td>2100 ms [1890 ms–2415 ms]</td><td>350 ms [315 ms–402 ms]</td>` +
          `<td>120 ms [108 ms–138 ms]</td><td>450 ms [405 ms–518 ms]</td>${met('0.25×')}<td>1500 ms [1350 ms–1725 ms]</td>` +
          `<td>0.83×</td>${met('1500 ms')}`,
      ),
      table,
    );
    assert.ok(table.includes(`${notMet('0.33×')}<td>2600 ms [2340 ms–2990 ms]</td><td>0.96×</td>${notMet('2600 ms')}`));
    assert.ok(section.includes(`which runs the hazard cell ${HAZARD_CELL}.`));
  });

  it('the restore table shows a figure not measured as "-" and its target as not measured; failures are listed, escaped', function () {
    const j = copy(r);
    const restore = harnessOf(kernelOf(j, K612)).restore;
    restore.hazardCellMs = null;
    restore.failures.push('run 4/5: saving a template failed: <qemu> said "no" & quit');
    kernelOf(j, K61).harness = null;
    const page = benchSectionHtml(j);
    assertBalanced(page);
    const table = /<table class="list bench-restore figures">[\s\S]*?<\/table>/.exec(page)?.[0] ?? '';
    const untested = '<span class="badge s-untested" data-status="not measured">not measured</span>';
    assert.ok(
      table.includes(`<td>${html(K61)}</td>${'<td>-</td>'.repeat(5)}<td>${untested} not measured in this run (harness part skipped)</td>`),
      table,
    );
    assert.ok(
      table.includes(
        `<td>-</td><td>-</td><td>${untested} no restored copy gave the hazard cell&#39;s verdict (2 repetition(s) fell short)</td>`,
      ),
      table,
    );
    const failures = /<table class="list bench-restore-failures">[\s\S]*?<\/table>/.exec(page)?.[0] ?? '';
    assert.ok(failures.includes(`<td>${html(RESTORE_FAILURE_612)}</td>`));
    assert.ok(failures.includes('<td>run 4/5: saving a template failed: &lt;qemu&gt; said &quot;no&quot; &amp; quit</td>'), failures);
    assert.doesNotMatch(page, /<qemu>/);
  });

  it('with no repetition short, the failures table says none', function () {
    const j = copy(r);
    harnessOf(kernelOf(j, K612)).restore.failures = [];
    assert.ok(benchSectionHtml(j).includes('<p class="empty" data-table="restore-failures">None in this run.</p>'));
  });

  it('the targets table gives each check its status and measured value, "not measured" with the reason', function () {
    const table = /<table class="list bench-targets">[\s\S]*?<\/table>/.exec(section)?.[0] ?? '';
    const statuses = [...table.matchAll(/data-status="([a-z ]+)"/g)].map((m) => m[1]);
    assert.equal(statuses.length, allTargets(r).length);
    assert.deepEqual(new Set(statuses), new Set(['met', 'not met', 'not measured']));
    assert.ok(table.includes('<td>no read and write throughput for this row</td>'));
    assert.ok(table.includes('<td>22.0 min</td><td><span class="badge s-contradicts" data-status="not met">not met</span></td>'));
    const unmeasured = benchSectionHtml(benchFixture({ matrixWallMs: null }));
    assert.ok(unmeasured.includes('Default matrix on all kernels: not measured in this run (target ≤ 5 min).'));
    assert.ok(unmeasured.includes('<td>not measured in this run</td><td><span class="badge s-untested" data-status="not measured">'));
  });
});

describe('benchmark section in Markdown', function () {
  const r = benchFixture();
  const text = benchSectionMarkdown(r);

  /** Cells of a table line: split on the '|' that md() did not escape. */
  function cells(line: string): number {
    return line.split(/(?<!\\)\|/).length - 2;
  }

  /** The tables of a Markdown text: each run of lines that start with '|'. */
  function tables(markdown: string): Array<[string, ...string[]]> {
    const out: Array<[string, ...string[]]> = [];
    let current: string[] | null = null;
    for (const line of markdown.split('\n')) {
      if (!line.startsWith('|')) current = null;
      else if (current !== null) current.push(line);
      else {
        const table: [string, ...string[]] = [line];
        out.push(table);
        current = table;
      }
    }
    return out;
  }

  it('every table has a header, a separator and rows of the same width', function () {
    const found = tables(text);
    for (const [header, separator, ...rows] of found) {
      const width = cells(header);
      assert.ok(separator !== undefined, `a separator under ${header}`);
      assert.match(separator, /^\| --- (\| --- )*\|$/, `separator under ${header}`);
      assert.equal(cells(separator), width);
      for (const row of rows) assert.equal(cells(row), width, `under ${header}: ${row}`);
    }
    // Summary, 6 per kernel, harness, restore, restore failures, every check.
    assert.equal(found.length, 1 + 6 * 2 + 3 + 1);
  });

  it('leads with the TCG note as a quote, escapes the hostile refusal, and says what was not measured', function () {
    assert.ok(text.startsWith('## Benchmarks'));
    assert.ok(text.includes('> **Measured under TCG emulation: absolute times are emulation times'));
    assert.doesNotMatch(text, /<script|<b>/);
    assert.ok(text.includes('&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;'));
    assert.ok(benchSectionMarkdown(benchFixture({ matrixWallMs: null })).includes('not measured in this run'));
    assert.doesNotMatch(benchSectionMarkdown(benchFixture({ accel: 'host' })), /TCG/);
  });

  it('shows a status in bold with its figure', function () {
    assert.ok(text.includes('| 1.25× | **met** 1.25× |'));
    assert.ok(text.includes('**not met** 0.93×'));
  });

  it('gives the restore figures under the harness, one row per kernel, with both targets', function () {
    const harness = text.indexOf('### Harness');
    const restore = text.indexOf('#### Restore instead of boot');
    assert.ok(harness > 0 && restore > harness && restore < text.indexOf('### Every target check'));
    assert.ok(
      text.includes(
        `| ${K61} | 1800 ms \\[1620 ms–2070 ms\\] | 2100 ms \\[1890 ms–2415 ms\\] | 350 ms \\[315 ms–402 ms\\] | ` +
          '120 ms \\[108 ms–138 ms\\] | 450 ms \\[405 ms–518 ms\\] | **met** 0.25× | 1500 ms \\[1350 ms–1725 ms\\] | 0.83× | **met** 1500 ms |',
      ),
    );
    assert.ok(text.includes('| **not met** 0.33× |') && text.includes('| 0.96× | **not met** 2600 ms |'));
    assert.ok(text.includes('#### Restore repetitions that fell short'));
  });
});

describe('writeBenchOutputs (lib/report/bench-write.ts)', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-bench-write-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes bench.json (reads back as the report), bench.md and report.html, creating the directory', function () {
    const r = benchFixture();
    const out = path.join(dir, 'a', 'b');
    const files = writeBenchOutputs(r, out);
    assert.deepEqual(files, { json: path.join(out, 'bench.json'), md: path.join(out, 'bench.md'), html: path.join(out, 'report.html') });
    assert.deepEqual(readBenchReport(files.json), copy(r));
    assert.ok(fs.readFileSync(files.json, 'utf8').startsWith('{\n  "schema": "mmaplab-bench",'), 'pretty JSON');
    assert.equal(fs.readFileSync(files.md, 'utf8'), renderBenchMarkdown(r));
    const page = fs.readFileSync(files.html, 'utf8');
    assert.equal(page, renderBenchHtml(r));
    assert.ok(page.startsWith('<!DOCTYPE html>'));
    assert.ok(page.includes('<title>mmaplab bench 2026-11-25T10:00:00.000Z</title>'));
    assert.ok(page.includes(benchSectionHtml(r)));
  });

  it('fails with EREPORTWRITE when the directory cannot be made', function () {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    const err = caught(() => writeBenchOutputs(benchFixture(), path.join(file, 'sub')));
    assert.equal(err.code, 'EREPORTWRITE');
    assert.match(err.message, /cannot write the bench outputs into/);
  });
});
