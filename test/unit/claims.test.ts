/**
 * lib/experiments/claims: each claim matches catalogue cells, and its
 * status per kernel is computed from the runs of those cells - the same
 * claim is supported by one synthetic report and contradicted by another.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { CLAIMS, evaluateClaims, type ClaimKernelResult, type ClaimResult } from '../../lib/experiments/claims';
import type { CellResult } from '../../lib/experiments/types';
import { expectedResults, K61, K612, report, run, spec } from './report-fixture';

function claim(results: readonly ClaimResult[], id: string): ClaimResult {
  const c = results.find((x) => x.id === id);
  assert.ok(c, `claim ${id}`);
  return c;
}

function onKernel(c: ClaimResult, kernel: string): ClaimKernelResult {
  const k = c.kernels.find((x) => x.kernel === kernel);
  assert.ok(k, `${c.id} on ${kernel}`);
  return k;
}

function status(results: CellResult[], id: string, kernel = K61): string {
  return onKernel(claim(evaluateClaims(report(results)), id), kernel).status;
}

describe('claims (lib/experiments/claims.ts)', function () {
  it('every claim matches at least one catalogue cell; ids are unique; each says where it comes from and how it is tested', function () {
    for (const c of CLAIMS) {
      const cells = CATALOGUE.filter(c.cells);
      assert.ok(cells.length > 0, `claim ${c.id} matches no catalogue cell`);
      assert.ok(['folklore', 'API contract'].includes(c.source), c.id);
      assert.ok(c.text.length > 20 && c.test.length > 20, c.id);
    }
    assert.equal(new Set(CLAIMS.map((c) => c.id)).size, CLAIMS.length);
  });

  it('the claims are tied to the cells the issue names', function () {
    const ids = (id: string): string[] =>
      CATALOGUE.filter((CLAIMS.find((c) => c.id === id) as (typeof CLAIMS)[number]).cells).map((c) => c.id);
    assert.deepEqual(ids('kmalloc-fault-bad-page').sort(), [
      'kmalloc/fault_page/4K/basic',
      'kmalloc/fault_page/4K/write-first',
      'kmalloc/fault_page/64K/basic',
    ]);
    assert.ok(ids('vmalloc-remap-page-by-page').includes('vmalloc_user/remap_pfn_range_first_pfn/16K/basic'));
    assert.ok(ids('vmalloc-remap-page-by-page').includes('vmalloc/remap_pfn_range/16K/basic'));
    assert.ok(ids('insert-needs-refcounted-pages').includes('pages_nocomp/vm_map_pages/16K/basic'));
    assert.ok(!ids('insert-needs-refcounted-pages').includes('kmalloc/vm_insert_page/64K/basic'), 'large kmalloc is not slab');
    assert.equal(ids('free-while-mapped').length, 4);
    assert.ok(ids('fault-needs-page-allocator').includes('pages_array/fault_page/64K/basic/fault-around'));
  });

  it('kmalloc + fault handler: a Bad page state supports the claim, a clean run contradicts it, both give mixed', function () {
    const cell = spec('kmalloc/fault_page/4K/basic');
    assert.equal(status([run(K61, cell, 'kernel-complaint', { detail: 'bad-page-state' })], 'kmalloc-fault-bad-page'), 'supports');
    assert.equal(status([run(K61, cell, 'ok')], 'kmalloc-fault-bad-page'), 'contradicts');
    const large = spec('kmalloc/fault_page/64K/basic');
    assert.equal(status([run(K61, cell, 'oops'), run(K61, large, 'ok')], 'kmalloc-fault-bad-page'), 'mixed');
  });

  it('free while mapped: pfn mappings reading freed memory and refcounted ones staying intact support it; the reverse contradicts', function () {
    const pfn = spec('pages_comp/remap_pfn_range/16K/free-while-mapped');
    const ref = spec('pages_array/vm_insert_page/16K/free-while-mapped');
    const asClaimed = [run(K61, pfn, 'wrong-data', { detail: 'after-free' }), run(K61, ref, 'ok')];
    assert.equal(status(asClaimed, 'free-while-mapped'), 'supports');
    const reverse = [run(K61, pfn, 'ok'), run(K61, ref, 'wrong-data', { detail: 'after-free' })];
    assert.equal(status(reverse, 'free-while-mapped'), 'contradicts');
  });

  it('vm_insert_page of slab pages: a refusal supports the contract, acceptance contradicts it', function () {
    const cell = spec('kmalloc/vm_insert_page/4K/basic');
    assert.equal(status([run(K61, cell, 'refused', { detail: 'EINVAL' })], 'insert-needs-refcounted-pages'), 'supports');
    assert.equal(status([run(K61, cell, 'ok')], 'insert-needs-refcounted-pages'), 'contradicts');
  });

  it('runs that say nothing leave a claim untested: a harness error, a hazard refused by the module gate, consecutive pfns', function () {
    const firstPfn = spec('vmalloc/remap_pfn_range_first_pfn/16K/basic');
    assert.equal(status([run(K61, firstPfn, 'ok', { pfnsConsecutive: true })], 'vmalloc-remap-page-by-page'), 'untested');
    assert.equal(status([run(K61, firstPfn, 'ok', { pfnsConsecutive: null })], 'vmalloc-remap-page-by-page'), 'untested', 'unknown pfns');
    assert.equal(status([run(K61, firstPfn, 'ok', { pfnsConsecutive: false })], 'vmalloc-remap-page-by-page'), 'contradicts');
    assert.equal(status([run(K61, firstPfn, 'wrong-data')], 'vmalloc-remap-page-by-page'), 'supports');
    const nocomp = spec('pages_nocomp/fault_page/16K/basic');
    assert.equal(status([run(K61, nocomp, 'refused', { detail: 'EPERM' })], 'nocomp-fault-bad-page'), 'untested');
    assert.equal(status([run(K61, nocomp, 'error')], 'nocomp-fault-bad-page'), 'untested');
    // No cell of the claim in the report at all.
    const r = onKernel(claim(evaluateClaims(report([run(K61, nocomp, 'ok')])), 'free-while-mapped'), K61);
    assert.equal(r.status, 'untested');
    assert.deepEqual(r.cells, []);
    assert.equal(r.notRun.length, 4);
  });

  it('every run of a flaky cell counts: 2 Bad page state and 1 clean run are mixed', function () {
    const cell = spec('pages_nocomp/fault_page/16K/basic');
    const bad = run(K612, cell, 'kernel-complaint', { detail: 'bad-page-state' });
    const results = [bad, run(K612, cell, 'ok'), bad];
    const k = onKernel(claim(evaluateClaims(report(results)), 'nocomp-fault-bad-page'), K612);
    assert.equal(k.status, 'mixed');
    assert.deepEqual(k.counts, { holds: 2, fails: 1, silent: 0 });
    assert.equal(k.cells[0]?.agreement, 'flaky');
    assert.deepEqual(k.cells[0]?.distribution, { 'kernel-complaint bad-page-state': 2, ok: 1 });
  });

  it('per kernel, separately: the same claim can be supported on one kernel and contradicted on the other', function () {
    const cell = spec('kmalloc/fault_page/4K/write-first');
    const results = [run(K61, cell, 'oops'), run(K612, cell, 'ok')];
    const c = claim(evaluateClaims(report(results)), 'kmalloc-fault-bad-page');
    assert.deepEqual(
      c.kernels.map((k) => [k.kernel, k.status, k.cells.map((x) => `${x.id}: ${x.verdict}`)]),
      [
        [K61, 'supports', ['kmalloc/fault_page/4K/write-first: oops']],
        [K612, 'contradicts', ['kmalloc/fault_page/4K/write-first: ok']],
      ],
    );
  });

  it('on the outcomes the expectations table predicts, every claim is tested on both kernels', function () {
    const results = evaluateClaims(report(expectedResults()));
    const table = Object.fromEntries(results.map((c) => [c.id, c.kernels.map((k) => k.status).join(' / ')]));
    assert.deepEqual(table, {
      'kmalloc-remap-pfn-range': 'supports / supports',
      // The slab cells are predicted to break the kernel, the 64K (page allocator) cell to work.
      'kmalloc-fault-bad-page': 'mixed / mixed',
      'dmabuf-needs-pfnmap': 'contradicts / contradicts',
      'fault-needs-page-allocator': 'supports / supports',
      'nocomp-fault-bad-page': 'supports / supports',
      'vmalloc-remap-page-by-page': 'supports / supports',
      'insert-needs-refcounted-pages': 'supports / supports',
      'remap-vmalloc-range-needs-usermap': 'supports / supports',
      // remap_pfn_range works without the flag; a flag left set is silent for 6.1's order-0 frees.
      'reserved-for-remap': 'contradicts / contradicts',
      'reserved-must-be-cleared': 'mixed / supports',
      'free-while-mapped': 'supports / supports',
      // Predicted to break everywhere (a silent double free on 6.12 is in the observation record only).
      'fault-without-get-page': 'supports / supports',
    });
    for (const c of results) for (const k of c.kernels) assert.deepEqual(k.notRun, [], `${c.id} ${k.kernel}`);
  });
});
