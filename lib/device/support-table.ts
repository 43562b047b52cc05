/**
 * kmod/mmaplab_support.h as data: the support table (a row per method
 * number, a value per allocator number) and the allocators' marks, as the
 * addon compiles them from the header. Written by
 * `node scripts/write-support-table.js` (node scripts/build-if-stale.js runs
 * it when the header changes): edit the header, not this file.
 */
import type { NativeSupport } from './native';

export const MODULE_SUPPORT: NativeSupport = {
  values: { UNSUPPORTED: 0, SUPPORTED: 1, HAZARD: 2 },
  // columns: 0 (none), 1 vmalloc_user, 2 pages_nocomp, 3 kmalloc, 4 vmalloc, 5 pages_array, 6 pages_comp, 7 pages_split, 8 dma_coherent, 9 pci_bar, 10 dma_device, 11 shmem, 12 dma_pages
  pairs: [
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // 0 (none)
    [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // 1 remap_vmalloc_range
    [0, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 1, 2], // 2 fault_page
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], // 3 remap_pfn_range
    [0, 2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0], // 4 remap_pfn_range_first_pfn
    [0, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0], // 5 fault_page_noref
    [0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], // 6 fault_virt_to_page
    [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1], // 7 vm_insert_page
    [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1], // 8 vm_insert_pages
    [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1], // 9 vm_map_pages
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], // 10 vmf_insert_pfn
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0], // 11 dma_mmap_coherent
    [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // 12 page_cache
    [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // 13 deferred_io
    [0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], // 14 deferred_io_keep_mapping
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], // 15 vmf_insert_mixed
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], // 16 vmf_insert_pfn_prot
    [0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0], // 17 io_remap_pfn_range
    [0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0], // 18 vm_iomap_memory
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // 19 dma_mmap_pages
  ],
  marks: { OWN_PAGES: 1, COMPOUND: 2, HAZARD: 4 },
  allocMarks: [0, 1, 5, 3, 1, 1, 3, 1, 0, 0, 0, 0, 0],
};
