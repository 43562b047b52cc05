/**
 * What the module is designed to accept, derived from the module's own
 * rules: kmod/mmaplab_support.h (the support table and the allocators'
 * marks), which the module checks every CONFIGURE against and the addon
 * compiles and exports. Nothing here restates that header: the names of
 * the methods and allocators come from layout.ts, and a table without an
 * entry for one of them, or with a value the header does not name, is
 * ERR_LAYOUT_MISMATCH.
 *
 * Used for three things only: Device.configure() refuses a hazard the
 * caller did not ask for, the catalogue knows which cells need
 * allow_hazards=1, and the expectations. It never decides a verdict: a cell
 * marked "unsupported" still runs, and the refusal it gets is the
 * observation.
 *
 * The table is read from lib/device/support-table.ts, the header's tables
 * as the addon compiled them (scripts/write-support-table.js writes it;
 * test/unit/support-table.test.ts fails when it is stale), so that the
 * catalogue, the CLI and the reports load without the addon.
 */
import type { ReservedMode } from './device';
import { deviceError, type MmaplabError } from './errors';
import { ALLOCS as ALLOC_ENUM, METHODS as METHOD_ENUM, type AllocName, type MethodName } from './layout';
import type { AllocMarkName, NativeSupport, SupportValueName } from './native';
import { MODULE_SUPPORT } from './support-table';

const ALLOCS = Object.keys(ALLOC_ENUM) as AllocName[];
const METHODS = Object.keys(METHOD_ENUM) as MethodName[];
const SUPPORT_VALUES: readonly SupportValueName[] = ['UNSUPPORTED', 'SUPPORTED', 'HAZARD'];
const ALLOC_MARKS: readonly AllocMarkName[] = ['OWN_PAGES', 'COMPOUND', 'HAZARD'];

export type Support = 'safe' | 'hazard' | 'unsupported';

/** The module's rules by name: each pair's table value, and the allocators carrying each mark (in layout.ts order). */
export interface DerivedSupport {
  readonly pairs: Readonly<Record<MethodName, Readonly<Record<AllocName, SupportValueName>>>>;
  readonly marked: Readonly<Record<AllocMarkName, readonly AllocName[]>>;
}

function mismatch(what: string): MmaplabError {
  return deviceError(
    'ERR_LAYOUT_MISMATCH',
    `the support table (kmod/mmaplab_support.h, as lib/device/support-table.ts) does not fit lib/device/layout.ts: ${what} ` +
      '(update layout.ts, or write the table again with `node scripts/build-if-stale.js`)',
  );
}

/** The name of mmaplab_support[method][alloc]'s value. */
function pairValue(s: NativeSupport, method: MethodName, alloc: AllocName): SupportValueName {
  const value = s.pairs[METHOD_ENUM[method]]?.[ALLOC_ENUM[alloc]];
  if (value === undefined) throw mismatch(`it has no entry for ${method} x ${alloc}`);
  const name = SUPPORT_VALUES.find((n) => s.values[n] === value);
  if (name === undefined) throw mismatch(`${method} x ${alloc} is ${value}, not one of ${JSON.stringify(s.values)}`);
  return name;
}

/** The marks of an allocator. */
function marksOf(s: NativeSupport, alloc: AllocName): number {
  const marks = s.allocMarks[ALLOC_ENUM[alloc]];
  if (marks === undefined) throw mismatch(`it has no marks for ${alloc}`);
  return marks;
}

/** The allocators whose marks have `mark`'s bit. */
function allocsMarked(s: NativeSupport, mark: AllocMarkName): AllocName[] {
  const bit = s.marks[mark];
  if (!Number.isInteger(bit) || bit <= 0) throw mismatch(`no bit for the mark ${mark}`);
  return ALLOCS.filter((a) => (marksOf(s, a) & bit) !== 0);
}

/**
 * The module's support table and allocator marks, as the addon exports
 * them, by layout.ts's names. Every name must have its entry; numbers
 * layout.ts does not name yet (a method or allocator being added) are left
 * out, as they are of the device API until layout.ts names them.
 */
export function deriveSupport(s: NativeSupport): DerivedSupport {
  const row = (m: MethodName) => Object.fromEntries(ALLOCS.map((a) => [a, pairValue(s, m, a)])) as Record<AllocName, SupportValueName>;
  return {
    pairs: Object.fromEntries(METHODS.map((m) => [m, row(m)])) as Record<MethodName, Record<AllocName, SupportValueName>>,
    marked: Object.fromEntries(ALLOC_MARKS.map((k) => [k, allocsMarked(s, k)])) as Record<AllocMarkName, AllocName[]>,
  };
}

const MODULE_RULES: DerivedSupport = deriveSupport(MODULE_SUPPORT);

/**
 * Everything with struct pages of the driver's own: not DMA memory, not the
 * device's BAR, not a shmem object. Only these may be marked reserved.
 */
export const OWN_PAGE_ALLOCS: readonly AllocName[] = MODULE_RULES.marked.OWN_PAGES;
/**
 * Allocators whose pages are parts of compound pages: a slab's (small
 * kmalloc) or a __GFP_COMP block's (large kmalloc, pages_comp). PG_reserved
 * is PF_NO_COMPOUND, so marking them reserved is a hazard (a kernel with
 * CONFIG_DEBUG_VM_PGFLAGS BUGs at the SetPageReserved).
 */
export const COMPOUND_PAGE_ALLOCS: readonly AllocName[] = MODULE_RULES.marked.COMPOUND;

/** Is marking this allocator's pages reserved (either way) a hazard? */
export function reservedIsHazard(alloc: AllocName): boolean {
  return COMPOUND_PAGE_ALLOCS.includes(alloc);
}

/** Memory the DMA device (QEMU's edu) reads and writes at its own DMA address with DEVICE_DMA: coherent, and the streaming API's. */
export const DEVICE_DMA_ALLOCS: readonly AllocName[] = ['dma_device', 'dma_pages'];
/** Memory DEVICE_DMA maps for the device for each transfer (dma_map_sgtable of the buffer's own struct pages). */
export const MAPPED_DMA_ALLOCS: readonly AllocName[] = [...OWN_PAGE_ALLOCS, 'shmem'];

/** The allocator that is a hazard whatever maps it (tail pages with refcount 0). */
export const HAZARD_ALLOCS: readonly AllocName[] = MODULE_RULES.marked.HAZARD;

/** Does the module take the pair, and is it a hazard (the pair's entry or the allocator's mark)? */
export function support(alloc: AllocName, method: MethodName): Support {
  const value = MODULE_RULES.pairs[method][alloc];
  if (value === 'UNSUPPORTED') return 'unsupported';
  if (value === 'HAZARD' || HAZARD_ALLOCS.includes(alloc)) return 'hazard';
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
