/**
 * What the module is designed to accept, mirrored from kmod/mmaplab_map.c's
 * support table. Used for three things only: Device.configure() refuses a
 * hazard the caller did not ask for, the catalogue knows which cells need
 * allow_hazards=1, and the expectations. It never decides a verdict: a cell
 * marked "unsupported" still runs, and the refusal it gets is the
 * observation.
 */
import type { ReservedMode } from './device';
import { ALLOCS as ALLOC_ENUM, type AllocName, type MethodName } from './layout';

const ALLOCS = Object.keys(ALLOC_ENUM) as AllocName[];

export type Support = 'safe' | 'hazard' | 'unsupported';

/**
 * Everything with struct pages of the driver's own: not DMA memory, not the
 * device's BAR, not a shmem object. Only these may be marked reserved.
 */
export const OWN_PAGE_ALLOCS: readonly AllocName[] = ALLOCS.filter(
  (a) => !['dma_coherent', 'dma_device', 'pci_bar', 'shmem', 'dma_pages'].includes(a),
);
/**
 * Allocators whose pages are parts of compound pages: a slab's (small
 * kmalloc) or a __GFP_COMP block's (large kmalloc, pages_comp). PG_reserved
 * is PF_NO_COMPOUND, so marking them reserved is a hazard (a kernel with
 * CONFIG_DEBUG_VM_PGFLAGS BUGs at the SetPageReserved). Mirrors the
 * allocator table's `compound` in kmod/mmaplab_alloc.c.
 */
export const COMPOUND_PAGE_ALLOCS: readonly AllocName[] = ['kmalloc', 'pages_comp'];

/** Is marking this allocator's pages reserved (either way) a hazard? */
export function reservedIsHazard(alloc: AllocName): boolean {
  return COMPOUND_PAGE_ALLOCS.includes(alloc);
}
/**
 * Page-cache pages of a shmem object, as GPU drivers map their buffer objects:
 * every page-based method with a reference, and the pfn-based ones.
 */
const SHMEM: readonly AllocName[] = ['shmem'];
/**
 * dma_alloc_pages() memory: one block without __GFP_COMP (the DMA API refuses
 * it). The pfn-based methods take it; vm_insert_page* are let through so
 * that the kernel's refusal of the zero-refcount tail pages is seen; a fault
 * handler handing them out is a hazard.
 */
const DMA_PAGES: readonly AllocName[] = ['dma_pages'];
/** Memory with a pfn for every page but no struct page to hand the core. */
const PFN_ONLY: readonly AllocName[] = ['dma_coherent', 'dma_device', 'pci_bar'];
/** The device-memory helpers: the BAR, and one block of RAM and DMA memory to show what they do with RAM. */
const IO_HELPER_TAKES: readonly AllocName[] = ['pages_comp', 'dma_coherent', 'dma_device', 'pci_bar'];
const NON_CONTIGUOUS: readonly AllocName[] = ['vmalloc', 'vmalloc_user', 'pages_array'];

/** Per method: the allocators it takes, and which of those pairs are hazards. */
const TABLE: Record<MethodName, { takes: readonly AllocName[]; hazards: readonly AllocName[] }> = {
  remap_pfn_range: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES, ...PFN_ONLY], hazards: [] },
  remap_pfn_range_first_pfn: { takes: NON_CONTIGUOUS, hazards: NON_CONTIGUOUS },
  fault_page: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES], hazards: ['kmalloc', ...DMA_PAGES] },
  fault_page_noref: { takes: OWN_PAGE_ALLOCS, hazards: OWN_PAGE_ALLOCS },
  fault_virt_to_page: { takes: ['vmalloc', 'vmalloc_user'], hazards: ['vmalloc', 'vmalloc_user'] },
  vm_insert_page: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES], hazards: [] },
  vm_insert_pages: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES], hazards: [] },
  vm_map_pages: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES], hazards: [] },
  // The module lets plain vmalloc through so that the kernel's own refusal is seen.
  remap_vmalloc_range: { takes: ['vmalloc', 'vmalloc_user'], hazards: [] },
  vmf_insert_pfn: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES, ...PFN_ONLY], hazards: [] },
  vmf_insert_pfn_prot: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES, ...PFN_ONLY], hazards: [] },
  vmf_insert_mixed: { takes: [...OWN_PAGE_ALLOCS, ...SHMEM, ...DMA_PAGES, ...PFN_ONLY], hazards: [] },
  io_remap_pfn_range: { takes: IO_HELPER_TAKES, hazards: [] },
  vm_iomap_memory: { takes: IO_HELPER_TAKES, hazards: [] },
  dma_mmap_coherent: { takes: ['dma_coherent', 'dma_device'], hazards: [] },
  dma_mmap_pages: { takes: DMA_PAGES, hazards: [] },
  // The buffer is the backing store: only vmalloc memory is used for it.
  page_cache: { takes: ['vmalloc'], hazards: [] },
  deferred_io: { takes: ['vmalloc', 'vmalloc_user'], hazards: [] },
  deferred_io_keep_mapping: { takes: ['vmalloc', 'vmalloc_user'], hazards: ['vmalloc', 'vmalloc_user'] },
};

/** Memory the DMA device (QEMU's edu) reads and writes at its own DMA address with DEVICE_DMA: coherent, and the streaming API's. */
export const DEVICE_DMA_ALLOCS: readonly AllocName[] = ['dma_device', 'dma_pages'];
/** Memory DEVICE_DMA maps for the device for each transfer (dma_map_sgtable of the buffer's own struct pages). */
export const MAPPED_DMA_ALLOCS: readonly AllocName[] = [...OWN_PAGE_ALLOCS, 'shmem'];

/** The allocator that is a hazard whatever maps it (tail pages with refcount 0). */
export const HAZARD_ALLOCS: readonly AllocName[] = ['pages_nocomp'];

export function support(alloc: AllocName, method: MethodName): Support {
  const row = TABLE[method];
  if (!row.takes.includes(alloc)) return 'unsupported';
  if (HAZARD_ALLOCS.includes(alloc) || row.hazards.includes(alloc)) return 'hazard';
  return 'safe';
}

/**
 * Why a CONFIGURE is a hazard, the module's rule (mmaplab_method_check):
 * the reserved mark left set at the free or set on compound pages, a
 * splittable BAR, or a pair the support table marks; null when it is none.
 * The device API refuses such a request without `hazards: true`, the
 * catalogue runs it as a hazard cell, the fuzzer expects the module to
 * refuse it.
 */
export function configHazard(
  alloc: AllocName,
  method: MethodName,
  o: { reserved?: ReservedMode | undefined; splittable?: boolean | undefined },
): string | null {
  if (o.reserved === 'kept') {
    return 'reserved: "kept" frees pages still marked reserved (the page allocator\'s free-time checks may report them)';
  }
  if (o.reserved === 'cleared' && reservedIsHazard(alloc)) {
    return (
      `reserved on ${alloc} memory sets PG_reserved on compound pages (a slab's or a __GFP_COMP block's), ` +
      'which the kernel does not allow (a CONFIG_DEBUG_VM_PGFLAGS kernel BUGs)'
    );
  }
  if (o.splittable === true) {
    return 'splittable: true lets a partial munmap split a remapped BAR, which x86 PAT mishandles (a kernel complaint)';
  }
  if (support(alloc, method) === 'hazard') return `${alloc} + ${method} is a hazard (it can corrupt the kernel)`;
  return null;
}

/**
 * Methods that map by pfn, special PTEs with no struct page refcounting;
 * the only ones with a cache attribute. All are VM_PFNMAP but
 * vmf_insert_mixed (VM_MIXEDMAP).
 */
export const PFN_METHODS = [
  'remap_pfn_range',
  'remap_pfn_range_first_pfn',
  'vmf_insert_pfn',
  'vmf_insert_pfn_prot',
  'vmf_insert_mixed',
  'dma_mmap_coherent',
  'dma_mmap_pages',
  'io_remap_pfn_range',
  'vm_iomap_memory',
] as const satisfies readonly MethodName[];

/**
 * The methods that map a whole BAR at mmap time with a remap_pfn_range
 * variant, reserving its memory type by range (x86 PAT): the module
 * refuses to split their VMA unless told otherwise (a hazard).
 */
export const BAR_REMAP_METHODS = ['remap_pfn_range', 'io_remap_pfn_range', 'vm_iomap_memory'] as const satisfies readonly MethodName[];

/** Methods with a ->fault handler that can also fault around. */
export const FAULT_METHODS = ['fault_page'] as const satisfies readonly MethodName[];

/** Methods that put a backing store behind the mapping (the "files" experiments). */
export const FILE_METHODS = ['page_cache', 'deferred_io', 'deferred_io_keep_mapping'] as const satisfies readonly MethodName[];
export type FileMethodName = (typeof FILE_METHODS)[number];
