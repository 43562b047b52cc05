/**
 * The reserved-page ritual (SetPageReserved before mapping): the A/B cells
 * in the catalogue, their predictions (the plain twin's, or the free-time
 * check for a flag left set), the claims, and the device API's option.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE, RESERVABLE_ALLOCS, RESERVED_KEPT_BUFFERS, SAFE_PAIRS, SIZES } from '../../lib/experiments/catalogue';
import { CLAIMS } from '../../lib/experiments/claims';
import { COMPOUND_PAGE_ALLOCS } from '../../lib/experiments/support';
import { expectationFor, withoutReserved } from '../../lib/experiments/expectations';
import { Device } from '../../lib/device';
import { isGridCell } from '../../lib/report/view';
import { prediction } from './prediction';

const cleared = CATALOGUE.filter((c) => c.reserved === 'cleared');
const kept = CATALOGUE.filter((c) => c.reserved === 'kept');

describe("reserved pages (SetPageReserved, the old drivers' ritual)", function () {
  it('has a reserved twin of every safe basic cell of an allocator with pages of its own that are not compound, and no other', function () {
    for (const [alloc, method] of SAFE_PAIRS.filter(([a]) => RESERVABLE_ALLOCS.includes(a) && !COMPOUND_PAGE_ALLOCS.includes(a))) {
      for (const size of SIZES[alloc]) {
        const twin = cleared.find((c) => c.alloc === alloc && c.method === method && c.size === size);
        assert.ok(twin, `${alloc}/${method}/${size}`);
        assert.ok(
          CATALOGUE.some((c) => c.id === withoutReserved(twin).id),
          `${twin.id} has its plain twin`,
        );
        assert.equal(twin.hazard, false);
        assert.equal(isGridCell(twin), false, 'reserved cells stay out of the grid');
      }
    }
    assert.ok(cleared.every((c) => c.alloc !== 'dma_coherent' && c.id.endsWith('/reserved') && c.scenario === 'basic'));
  });

  it('on compound pages (kmalloc, pages_comp) the ritual is a hazard, run once per buffer by remap_pfn_range', function () {
    assert.deepEqual(COMPOUND_PAGE_ALLOCS, ['kmalloc', 'pages_comp']);
    const compound = cleared.filter((c) => COMPOUND_PAGE_ALLOCS.includes(c.alloc));
    assert.deepEqual(
      compound.map((c) => c.id),
      [
        'kmalloc/remap_pfn_range/4K/basic/reserved',
        'kmalloc/remap_pfn_range/64K/basic/reserved',
        'pages_comp/remap_pfn_range/16K/basic/reserved',
      ],
    );
    for (const c of compound) {
      assert.equal(c.hazard, true, c.id);
      for (const series of ['6.1', '6.12']) {
        assert.equal(expectationFor(c, series)?.name, 'reserved-on-compound-unchecked', `${c.id} on ${series}`);
        assert.equal(prediction(c.id, series), 'ok', `${c.id} on ${series}: stock kernels do not check PF_NO_COMPOUND`);
      }
    }
  });

  it('a cleared cell of pages that are not compound is predicted as its plain twin, on both series', function () {
    for (const c of cleared.filter((x) => !COMPOUND_PAGE_ALLOCS.includes(x.alloc))) {
      for (const series of ['6.1', '6.12']) {
        const a = expectationFor(c, series);
        const b = expectationFor(withoutReserved(c), series);
        assert.ok(a && b, c.id);
        assert.deepEqual([a.verdict, a.detail, a.also], [b.verdict, b.detail, b.also], `${c.id} on ${series}`);
        assert.match(a.name, /^reserved-changes-nothing \(/);
      }
    }
    assert.equal(prediction('pages_array/vm_insert_page/16K/basic/reserved', '6.1'), 'ok');
  });

  it('a flag left set at the free: silent on 6.1 for order-0 pages, Bad page state otherwise', function () {
    assert.deepEqual(
      kept.map((c) => c.id),
      RESERVED_KEPT_BUFFERS.map(([a, size]) => `${a}/remap_pfn_range/${size / 1024}K/basic/reserved-kept`),
    );
    assert.ok(kept.every((c) => c.hazard));
    assert.equal(prediction('pages_array/remap_pfn_range/16K/basic/reserved-kept', '6.1'), 'ok');
    assert.equal(prediction('vmalloc_user/remap_pfn_range/16K/basic/reserved-kept', '6.1'), 'ok');
    assert.equal(prediction('pages_comp/remap_pfn_range/16K/basic/reserved-kept', '6.1'), 'kernel-complaint (bad-page-state)');
    assert.equal(prediction('kmalloc/remap_pfn_range/64K/basic/reserved-kept', '6.1'), 'kernel-complaint (bad-page-state)');
    for (const c of kept) assert.equal(prediction(c.id, '6.12'), 'kernel-complaint (bad-page-state)', c.id);
  });

  it('the claims take the plain remap_pfn_range cells and the kept ones', function () {
    const needed = CLAIMS.find((c) => c.id === 'reserved-for-remap');
    const cleanup = CLAIMS.find((c) => c.id === 'reserved-must-be-cleared');
    assert.ok(needed && cleanup);
    const mine = CATALOGUE.filter((c) => needed.cells(c));
    assert.ok(mine.every((c) => c.method === 'remap_pfn_range' && c.reserved !== 'kept'));
    const plain = mine.filter((c) => c.reserved === undefined);
    assert.ok(plain.length > 0);
    for (const c of plain)
      assert.ok(
        mine.some((x) => x.id === `${c.id}/reserved`),
        `${c.id} has its A/B twin in the row`,
      );
    assert.deepEqual(
      CATALOGUE.filter((c) => cleanup.cells(c)),
      kept,
    );
  });

  it('the device API checks the option before the module is asked', function () {
    const d = Object.create(Device.prototype) as Device;
    assert.throws(
      () => d.configure({ alloc: 'pages_array', method: 'remap_pfn_range', size: 16384, reserved: 'always' as never }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_ARG_VALUE' && /cleared, kept/.test(e.message),
    );
    assert.throws(
      () => d.configure({ alloc: 'pages_array', method: 'remap_pfn_range', size: 16384, reserved: 'kept' }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_HAZARD_NOT_REQUESTED',
    );
    for (const alloc of ['kmalloc', 'pages_comp'] as const) {
      assert.throws(
        () => d.configure({ alloc, method: 'remap_pfn_range', size: 16384, reserved: 'cleared' }),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_HAZARD_NOT_REQUESTED' && /compound pages/.test(e.message),
        alloc,
      );
    }
  });
});
