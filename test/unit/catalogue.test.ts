import { strict as assert } from 'node:assert';
import {
  CATALOGUE,
  PAIR_SCENARIOS,
  PLACEMENT_SIZE,
  SCENARIO_PAIRS,
  SIZES,
  SWEEP_SIZES,
  findCells,
  makeCell,
} from '../../lib/experiments/catalogue';
import { PFN_METHODS, support } from '../../lib/experiments/support';
import { CELL_ALLOCS, CELL_METHODS, PLACEMENT_SCENARIOS, SCENARIOS } from '../../lib/experiments/types';

describe('experiment catalogue (lib/experiments/catalogue.ts)', function () {
  it('has every allocator x method pair at every size of that allocator', function () {
    for (const alloc of CELL_ALLOCS) {
      for (const method of CELL_METHODS) {
        for (const size of SIZES[alloc]) {
          const id = makeCell(alloc, method, size).id;
          assert.ok(
            CATALOGUE.some((c) => c.id === id),
            `${id} is missing`,
          );
        }
      }
    }
  });

  it('covers kmalloc in both regimes: slab (<= 8 KiB) and large (> 8 KiB)', function () {
    assert.ok(SIZES.kmalloc.some((s) => s <= 8192));
    assert.ok(SIZES.kmalloc.some((s) => s > 8192));
  });

  it('ids are unique and say allocator/method/size/scenario', function () {
    const ids = CATALOGUE.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const c of CATALOGUE) assert.ok(c.id.startsWith(`${c.alloc}/${c.method}/`), c.id);
  });

  it('a cell is a hazard exactly when the support table, its scenario, a reserved flag left set or on compound pages, or a splittable BAR says so', function () {
    for (const c of CATALOGUE) {
      assert.equal(
        c.hazard,
        support(c.alloc, c.method) === 'hazard' ||
          c.scenario === 'free-while-mapped' ||
          c.reserved === 'kept' ||
          (c.reserved === 'cleared' && ['kmalloc', 'pages_comp'].includes(c.alloc)) ||
          c.splittable === true,
        c.id,
      );
    }
  });

  it('the BAR split cells: every remap_pfn_range variant of pci_bar, with and without the refusal to split', function () {
    const ids = CATALOGUE.filter((c) => c.alloc === 'pci_bar' && c.scenario === 'partial-munmap' && c.via === undefined)
      .map((c) => c.id)
      .sort();
    assert.deepEqual(ids, [
      'pci_bar/io_remap_pfn_range/16K/partial-munmap',
      'pci_bar/io_remap_pfn_range/16K/partial-munmap/splittable',
      'pci_bar/remap_pfn_range/16K/partial-munmap',
      'pci_bar/remap_pfn_range/16K/partial-munmap/splittable',
      'pci_bar/vm_iomap_memory/16K/partial-munmap',
      'pci_bar/vm_iomap_memory/16K/partial-munmap/splittable',
    ]);
    for (const c of CATALOGUE.filter((x) => x.splittable === true)) assert.ok(c.hazard && c.title.includes('VMA left splittable'), c.id);
  });

  it('free-while-mapped cells boot with poisoning, every other cell with the default profile', function () {
    for (const c of CATALOGUE) assert.equal(c.profile, c.scenario === 'free-while-mapped' ? 'poison' : 'default', c.id);
  });

  it('cache attributes other than write-back appear only with pfn-based methods', function () {
    for (const c of CATALOGUE.filter((x) => x.cache !== 'wb')) {
      assert.ok((PFN_METHODS as readonly string[]).includes(c.method), c.id);
    }
  });

  it('fault-around cells come in pairs, with and without, for comparing fault counts', function () {
    for (const c of CATALOGUE.filter((x) => x.faultAround)) {
      assert.ok(
        CATALOGUE.some((x) => x.id === c.id.replace('/fault-around', '')),
        c.id,
      );
    }
  });

  it('findCells matches by substring and returns everything for no pattern', function () {
    assert.equal(findCells([]).length, CATALOGUE.length);
    assert.ok(findCells(['dma_mmap_coherent']).every((c) => c.method === 'dma_mmap_coherent'));
    assert.deepEqual(findCells(['no-such-cell']), []);
  });

  it('every scenario runs on one safe pair per method, and every size boundary is crossed', function () {
    for (const [alloc, method] of SCENARIO_PAIRS) {
      assert.equal(support(alloc, method), 'safe', `${alloc}/${method}`);
      for (const scenario of PAIR_SCENARIOS) {
        assert.ok(
          CATALOGUE.some((c) => c.alloc === alloc && c.method === method && c.scenario === scenario),
          `${alloc}/${method}/${scenario}`,
        );
      }
      for (const size of SWEEP_SIZES) {
        assert.ok(CATALOGUE.some((c) => c.alloc === alloc && c.method === method && c.size === size && c.scenario === 'basic'));
      }
    }
    assert.deepEqual(SWEEP_SIZES, [4096, 8192, 16384, 65536, 2 << 20], '1 page, 2 pages, > 8 KiB, a high-order block, 2 MiB');
    for (const scenario of SCENARIOS)
      assert.ok(
        CATALOGUE.some((c) => c.scenario === scenario),
        scenario,
      );
    assert.ok(CATALOGUE.some((c) => c.id === 'kmalloc/vm_insert_page/2M/basic'));
  });

  it('every safe pair runs every placement scenario at its sizes and at 2 MiB, the fault method also with fault-around; no hazard does', function () {
    assert.equal(PLACEMENT_SIZE, 2 << 20, 'a PMD: one PMD-sized compound page for the block allocators');
    assert.deepEqual([...PLACEMENT_SCENARIOS], ['hint-2m', 'hint-1g', 'fixed-over', 'short-length']);
    for (const alloc of CELL_ALLOCS) {
      for (const method of CELL_METHODS) {
        const placed = CATALOGUE.filter(
          (c) => c.alloc === alloc && c.method === method && (PLACEMENT_SCENARIOS as readonly string[]).includes(c.scenario),
        );
        if (support(alloc, method) !== 'safe') {
          assert.deepEqual(placed, [], `${alloc}/${method}: placement is for safe pairs`);
          continue;
        }
        for (const size of [...SIZES[alloc], PLACEMENT_SIZE]) {
          for (const scenario of PLACEMENT_SCENARIOS) {
            for (const faultAround of method === 'fault_page' ? [false, true] : [false]) {
              const id = makeCell(alloc, method, size, { scenario, faultAround }).id;
              assert.ok(
                placed.some((c) => c.id === id),
                `${id} is missing`,
              );
            }
          }
        }
      }
    }
    const bug = CATALOGUE.find((c) => c.id === 'pages_comp/fault_page/2M/hint-2m/fault-around');
    assert.ok(bug, 'the cell of the 6.1 huge-PMD finding');
    assert.equal(bug.title, 'pages_comp (2M) mapped with fault_page (fault-around), mapped at a 2 MiB-aligned hint, written by a child');
    assert.ok(
      CATALOGUE.filter((c) => (PLACEMENT_SCENARIOS as readonly string[]).includes(c.scenario)).every(
        (c) => !c.hazard && c.profile === 'default',
      ),
    );
  });

  it('cell ids are unique and name sizes in K or M', function () {
    const ids = CATALOGUE.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(
      ids.every((id) => /\/\d+[KM]\//.test(id)),
      'every id has a size label',
    );
  });
});
