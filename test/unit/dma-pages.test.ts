/**
 * The streaming DMA API's buffer as the buffer (dma_pages, dma_alloc_pages
 * for the edu device): which methods take it, and the predictions that
 * follow from its being one block without __GFP_COMP.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE, RESERVABLE_ALLOCS } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';
import { DEVICE_DMA_ALLOCS, support } from '../../lib/experiments/support';
import { CELL_ALLOCS, CELL_METHODS } from '../../lib/experiments/types';

function predicted(id: string): [string | undefined, string | undefined] {
  const cell = CATALOGUE.find((c) => c.id === id);
  assert.ok(cell, id);
  const e = expectationFor(cell, '6.12');
  return [e?.verdict, e?.detail];
}

describe('dma_pages: dma_alloc_pages memory for the DMA device', function () {
  it('the pfn methods and dma_mmap_pages take it; vm_insert_page* are let through; a fault handler is a hazard', function () {
    assert.deepEqual(
      CELL_METHODS.filter((m) => support('dma_pages', m) === 'safe'),
      [
        'remap_pfn_range',
        'vm_insert_page',
        'vm_insert_pages',
        'vm_map_pages',
        'vmf_insert_pfn',
        'vmf_insert_pfn_prot',
        'vmf_insert_mixed',
        'dma_mmap_pages',
      ],
    );
    assert.deepEqual(
      CELL_METHODS.filter((m) => support('dma_pages', m) === 'hazard'),
      ['fault_page'],
    );
    assert.deepEqual(
      CELL_ALLOCS.filter((a) => support(a, 'dma_mmap_pages') !== 'unsupported'),
      ['dma_pages'],
      'dma_mmap_pages maps nothing else',
    );
    assert.ok(DEVICE_DMA_ALLOCS.includes('dma_pages'), 'the device moves it with DEVICE_DMA');
    assert.ok(!RESERVABLE_ALLOCS.includes('dma_pages'), "the DMA API's pages are not the driver's to mark reserved");
  });

  it('predicts the kernel refusing its tail pages, a pfn mapping working, and the fault handler breaking the kernel', function () {
    assert.deepEqual(predicted('dma_pages/vm_insert_pages/16K/basic'), ['refused', 'EINVAL']);
    assert.deepEqual(predicted('dma_pages/vm_map_pages/16K/basic'), ['refused', 'EINVAL']);
    assert.deepEqual(predicted('dma_pages/dma_mmap_pages/16K/basic'), ['ok', undefined]);
    assert.deepEqual(predicted('dma_pages/vmf_insert_mixed/16K/basic'), ['ok', undefined]);
    assert.deepEqual(predicted('dma_pages/fault_page/16K/basic'), ['kernel-complaint', 'bad-page-state']);
    assert.ok(CATALOGUE.find((c) => c.id === 'dma_pages/fault_page/16K/basic')?.hazard);
  });

  it("has no cache-attribute cells: the module does not retype the DMA API's pages", function () {
    assert.deepEqual(
      CATALOGUE.filter((c) => (c.alloc === 'dma_pages' || c.method === 'dma_mmap_pages') && c.cache !== 'wb'),
      [],
    );
  });
});
