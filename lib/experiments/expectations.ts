/**
 * What documented kernel knowledge predicts for each cell, and what earlier
 * runs showed that the prediction does not cover - kept apart.
 *
 * A **prediction** is written from the API contract or the source page's
 * claim, before looking, and names outcomes that could fail to happen: it
 * never accepts both `ok` and an outcome where the kernel breaks (a
 * complaint, an oops, a panic, a hang). An **observation record** is what
 * earlier runs showed against the prediction, with where it was seen and
 * the explanation; a cell whose outcome only matches one is reported apart
 * ("as recorded"), as a surprise, never counted as a prediction met.
 *
 * Rules are tried in order; the first that matches a cell (and its kernel
 * series) is its expectation. Reports show these next to what was observed;
 * they never decide a verdict.
 */
import { BAR_REMAP_METHODS, reservedIsHazard, support } from './support';
import { USE_RULES } from './use-expectations';
import { CELL_ALLOCS, CELL_METHODS, type CellSpec, PLACEMENT_SCENARIOS, type Scenario, type Verdict } from './types';

/** Outcome, Observation and Agreement travel in report.json: their schemas (./schema) define them. */
export type { Agreement, Observation, Outcome } from './schema';
import type { Agreement, Observation, Outcome } from './schema';

export interface Expectation extends Outcome {
  /** Kernel series this rule is for ("6.1"), or "*" for all. */
  series: string;
  /**
   * Further outcomes the prediction accepts (a double free reported by
   * whichever task next touches the page, memory corruption that may or may
   * not hit something vital). Empty for cells whose outcome is deterministic.
   */
  also?: Outcome[];
  /** Why the rule predicts this: the API contract or the source page's claim. */
  reason: string;
  /** The observation record: outcomes seen that contradict the prediction. */
  observed?: Observation[];
}

/** An observation of a rule, seen only on some of its cells. */
export interface ObservationRule extends Observation {
  /** The cells it was seen on (all the rule's cells if absent). */
  only?: (c: CellSpec) => boolean;
}

export interface ExpectationRule extends Omit<Expectation, 'observed'> {
  /** Short name of the rule, shown in reports. */
  name: string;
  matches: (c: CellSpec) => boolean;
  observed?: ObservationRule[];
}

/** Verdicts that mean the kernel broke. */
export const BREAKING_VERDICTS: readonly Verdict[] = ['kernel-complaint', 'oops', 'panic', 'hang'];

/** "The kernel breaks": any complaint, an oops, a panic or a hang. */
const BREAKS_OTHERWISE: Outcome[] = [{ verdict: 'kernel-complaint' }, { verdict: 'oops' }, { verdict: 'panic' }, { verdict: 'hang' }];

const slabKmalloc = (c: CellSpec): boolean => c.alloc === 'kmalloc' && c.size <= 8192;
/** One high-order block without __GFP_COMP, whose tail pages have refcount 0 (a 16 KiB buffer has tails). */
const nonCompoundBlock = (c: CellSpec): boolean => (c.alloc === 'pages_nocomp' || c.alloc === 'dma_pages') && c.size > 4096;
/** The device's BAR mapped whole at mmap time by a remap_pfn_range variant (its memory type reserved by range). */
const barRemapped = (c: CellSpec): boolean => c.alloc === 'pci_bar' && (BAR_REMAP_METHODS as readonly string[]).includes(c.method);
const insertMethods = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages'];
/** Methods that map any allocator's pfns as special PTEs: no struct page is touched. */
const specialPteMethods = [
  'remap_pfn_range',
  'dma_mmap_pages',
  'io_remap_pfn_range',
  'vm_iomap_memory',
  'vmf_insert_pfn',
  'vmf_insert_pfn_prot',
  'vmf_insert_mixed',
];
/** The VM_PFNMAP methods filled by a fault handler: a private mapping would BUG, so the module refuses it. */
const pfnmapFaultMethods = ['vmf_insert_pfn', 'vmf_insert_pfn_prot'];
/** Methods whose fault handler serves a zapped page again. */
const refaultingMethods = ['fault_page', 'vmf_insert_mixed'];

/** Buffers of order-0 pages, each freed on its own (__free_page, vfree). */
const order0Allocs = ['pages_array', 'pages_split', 'vmalloc', 'vmalloc_user'];

export const RULES: ExpectationRule[] = [
  {
    name: 'reserved-kept-order0-6.1',
    series: '6.1',
    matches: (c) => c.reserved === 'kept' && order0Allocs.includes(c.alloc),
    verdict: 'ok',
    reason:
      '6.1 frees an order-0 page through the per-CPU lists without checking it first (free_pages_prepare checks ' +
      'only with debug_pagealloc) and clears PAGE_FLAGS_CHECK_AT_PREP, PG_reserved with it: the page goes back ' +
      'silently, the flag forgotten',
  },
  {
    name: 'reserved-kept-checked-at-free',
    series: '*',
    matches: (c) => c.reserved === 'kept',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'PG_reserved is one of PAGE_FLAGS_CHECK_AT_FREE: a page freed with it is reported as "Bad page state" and ' +
      'leaked. 6.1 always checks the tail pages of a high-order block; 6.12 checks every page freed, since ' +
      "Debian's init_on_alloc switches the free-time checks on",
  },
  {
    name: 'reserved-on-compound-unchecked',
    series: '*',
    matches: (c) => c.reserved === 'cleared' && reservedIsHazard(c.alloc),
    verdict: 'ok',
    reason:
      'PG_reserved is PF_NO_COMPOUND, but setting it on a page of a slab or of a __GFP_COMP block is checked only ' +
      "by CONFIG_DEBUG_VM_PGFLAGS (a VM_BUG_ON_PAGE), which Debian's kernels build without: the flag lands on each " +
      'page, no mapping path reads it, and it is cleared before the free, so the cell comes out as without it. A ' +
      'kernel built with DEBUG_VM_PGFLAGS BUGs at the first SetPageReserved instead',
  },
  {
    name: 'unsupported-combination',
    series: '*',
    matches: (c) => support(c.alloc, c.method) === 'unsupported',
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'the method cannot map this memory (e.g. remap_vmalloc_range needs vmalloc memory, ' +
      'dma_mmap_coherent needs dma_alloc_coherent memory): CONFIGURE refuses instead of falling back',
  },
  {
    name: 'bar-split-frees-invalid-memtype',
    series: '*',
    matches: (c) => c.splittable === true && barRemapped(c) && c.scenario === 'partial-munmap',
    verdict: 'kernel-complaint',
    detail: 'pat',
    reason:
      'remap_pfn_range (and io_remap_pfn_range, vm_iomap_memory over it) reserves the memory type of the whole ' +
      'non-RAM range as one entry of the PAT memtype tree (track_pfn_remap, VM_PAT); munmap frees it by the range ' +
      'of each VMA it finds (untrack_pfn), so after a split the pieces\' ranges match no entry: "x86/PAT: ... ' +
      'freeing invalid memtype", and the reservation is left behind',
  },
  {
    name: 'bar-remap-refuses-split',
    series: '*',
    matches: (c) => barRemapped(c) && c.scenario === 'partial-munmap',
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      "the module's ->may_split refuses to split a remapped BAR's VMA (x86 PAT would free its memtype by the " +
      'pieces): munmap of a part fails with -EINVAL from __split_vma',
  },
  {
    name: 'bar-remap-fixed-over-6.1',
    series: '6.1',
    matches: (c) => barRemapped(c) && c.scenario === 'fixed-over',
    verdict: 'refused',
    detail: 'ENOMEM',
    reason:
      "MAP_FIXED over part of the mapping has to split it first; the split is refused (->may_split) and 6.1's " +
      'mmap_region turns any failure to unmap the old range into -ENOMEM',
  },
  {
    name: 'bar-remap-fixed-over',
    series: '*',
    matches: (c) => barRemapped(c) && c.scenario === 'fixed-over',
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      "MAP_FIXED over part of the mapping has to split it first; the split is refused (->may_split) and 6.12's " +
      "mmap_region passes the split's -EINVAL on (vms_gather_munmap_vmas)",
  },
  {
    name: 'remap-vmalloc-range-needs-usermap',
    series: '*',
    matches: (c) => c.method === 'remap_vmalloc_range' && c.alloc === 'vmalloc',
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'the kernel refuses remap_vmalloc_range without VM_USERMAP, which only vmalloc_user sets',
  },
  {
    name: 'insert-refuses-slab',
    series: '*',
    matches: (c) => slabKmalloc(c) && insertMethods.includes(c.method),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'vm_insert_page and friends reject slab pages (validate_page_before_insert)',
  },
  {
    name: 'insert-refuses-zero-refcount',
    series: '*',
    matches: (c) => nonCompoundBlock(c) && insertMethods.includes(c.method),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'vm_insert_page refuses a page whose refcount is 0 - the tail pages of a block without ' +
      '__GFP_COMP, which is what dma_alloc_pages gives above one page - so this never reaches the page tables',
  },
  {
    name: 'fault-on-slab',
    series: '*',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page',
    verdict: 'kernel-complaint',
    also: BREAKS_OTHERWISE.slice(1),
    reason:
      'a fault handler must hand the core a page it can refcount and map; virt_to_page() of slab ' +
      'memory is neither (the source page: "Bad page state during munmap", with SLAB), so the ' +
      'kernel breaks: a complaint, an oops, a panic or a hang',
    observed: [
      {
        series: '6.1',
        verdict: 'ok',
        only: (c) => c.scenario !== 'write-first',
        note:
          'seen on 6.1 (every run since 2026-10) when the first touch is a read: only a write ' +
          "fault dirties the page and reads slab's own data as page->mapping " +
          '(fault_dirty_shared_page -> inode_to_bdi, an oops); the failure depends on the access order',
      },
      {
        series: '6.12',
        verdict: 'ok',
        note:
          'seen on 6.12 on most runs since 2026-10: slab is a page type there and folio_mapping() of ' +
          'a slab folio is NULL, so dirtying it is harmless; the skewed rss accounting is reported ' +
          '("Bad rss-counter") on some runs only',
      },
    ],
  },
  {
    name: 'nocomp-fault',
    series: '*',
    matches: (c) => nonCompoundBlock(c) && c.method === 'fault_page',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'without __GFP_COMP (and dma_alloc_pages refuses it) the tail pages have refcount 0: get_page/put_page ' +
      'in the fault path frees them under the driver; freeing the block then finds pages in a bad state',
  },
  {
    name: 'nocomp-pfnmap',
    series: '*',
    // a use on such a mapping is the method's business (the use rules)
    matches: (c) => nonCompoundBlock(c) && specialPteMethods.includes(c.method) && c.scenario !== 'use',
    verdict: 'ok',
    reason:
      "pfn mappings (special PTEs, VM_PFNMAP or vmf_insert_mixed's VM_MIXEDMAP) never touch struct page refcounts, " +
      'so the zero-refcount tail pages are not disturbed',
  },
  {
    name: 'noref-kmalloc-6.1',
    series: '6.1',
    matches: (c) => c.method === 'fault_page_noref' && c.alloc === 'kmalloc',
    verdict: 'kernel-complaint',
    detail: 'warning',
    also: [{ verdict: 'kernel-complaint', detail: 'bad-page-state' }, { verdict: 'oops' }, { verdict: 'panic' }],
    reason:
      'munmap drops a reference the handler never took and frees the page under kmalloc; kfree ' +
      'then finds no slab behind it and warns in free_large_kmalloc; the freed memory may be ' +
      'reused before that',
  },
  {
    name: 'fault-without-reference',
    series: '*',
    matches: (c) => c.method === 'fault_page_noref',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    also: [{ verdict: 'kernel-complaint' }, { verdict: 'oops' }, { verdict: 'panic' }, { verdict: 'hang' }],
    reason:
      'munmap drops a reference the fault handler never took: the page is freed while the driver ' +
      'still owns it, and the driver frees it again; the double free is reported as Bad page state, ' +
      'or the reused page takes the kernel down',
    observed: [
      {
        series: '*',
        verdict: 'ok',
        note:
          'seen on both series (matrix --repeat 5, 2026-11): the second free is reported by whichever ' +
          'task next drains the per-CPU page lists, after the window closed; and on 6.12, for compound ' +
          'and split pages and large kmalloc, nothing checks the refcount underflow without ' +
          'CONFIG_DEBUG_VM - a silent double free',
      },
    ],
  },
  {
    name: 'virt-to-page-on-vmalloc',
    series: '*',
    matches: (c) => c.method === 'fault_virt_to_page',
    verdict: 'user-signal',
    detail: 'SIGBUS',
    reason:
      'virt_to_page() of a vmalloc address computes a struct page outside the memory map; ' +
      'the module checks pfn_valid before handing it to the core and answers SIGBUS (without ' +
      'that check the kernel would map a bogus page)',
  },
  {
    name: 'first-pfn-over-noncontiguous',
    series: '*',
    matches: (c) => c.method === 'remap_pfn_range_first_pfn',
    verdict: 'wrong-data',
    also: BREAKS_OTHERWISE,
    reason:
      "one remap_pfn_range from the first pfn maps the physically following pages, not the buffer's " +
      'others: userspace sees foreign data, and its writes land in memory the kernel uses (a ' +
      'corrupted page table shows as bad pud and bad rss-counter, or an oops, a panic, a wedged kernel)',
    observed: [
      {
        series: '*',
        verdict: 'ok',
        note:
          'seen on both series when the allocator happened to hand out consecutive pfns, so the ' +
          "following pages were the buffer's own (the probe records it: pfnsConsecutive)",
      },
    ],
  },
  {
    name: 'free-while-mapped-pfnmap',
    series: '*',
    matches: (c) => c.scenario === 'free-while-mapped' && specialPteMethods.includes(c.method),
    verdict: 'wrong-data',
    detail: 'after-free',
    reason:
      'VM_PFNMAP mappings hold no page references: after the driver frees the buffer userspace ' +
      'keeps reading memory the kernel has freed (the poison byte 0xaa with page_poison=1) - a silent use-after-free',
  },
  {
    name: 'free-while-mapped-refcounted',
    series: '*',
    matches: (c) => c.scenario === 'free-while-mapped',
    verdict: 'ok',
    reason:
      'the mapping holds its own page references (vm_insert_page, remap_vmalloc_range): the pages ' +
      "outlive the driver's free until munmap, so the data stays intact",
  },
  {
    name: 'private-pfnmap-refused',
    series: '*',
    matches: (c) => c.scenario === 'private-write' && pfnmapFaultMethods.includes(c.method),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'a writable MAP_PRIVATE VM_PFNMAP mapping filled at fault time would hit the BUG_ON in ' +
      'vmf_insert_pfn (copy-on-write pfn mappings must be set up whole at mmap time): the module refuses it',
  },
  {
    name: 'private-remap-per-page-refused',
    series: '*',
    matches: (c) =>
      c.scenario === 'private-write' &&
      c.method === 'remap_pfn_range' &&
      ['vmalloc', 'vmalloc_user', 'pages_array', 'shmem'].includes(c.alloc),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'remap_pfn_range of a copy-on-write mapping must cover the whole VMA in one call (it keeps ' +
      'the first pfn in vm_pgoff to tell its pages from COW copies); page by page, the kernel refuses',
  },
  {
    name: 'private-write-copies',
    series: '*',
    matches: (c) => c.scenario === 'private-write',
    verdict: 'ok',
    reason:
      "MAP_PRIVATE writes land in anonymous copies (copy-on-write): the writer sees its data, the driver's " +
      'buffer keeps what the kernel wrote',
  },
  {
    name: 'dontneed-pfnmap-refused',
    series: '*',
    matches: (c) =>
      c.scenario === 'dontneed-retouch' &&
      ['remap_pfn_range', 'io_remap_pfn_range', 'vm_iomap_memory', ...pfnmapFaultMethods, 'dma_mmap_coherent', 'dma_mmap_pages'].includes(
        c.method,
      ),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'madvise(MADV_DONTNEED) refuses VM_PFNMAP areas (can_madv_lru_vma)',
  },
  {
    name: 'dontneed-prefaulted-sigbus',
    series: '*',
    matches: (c) => c.scenario === 'dontneed-retouch' && !refaultingMethods.includes(c.method),
    verdict: 'user-signal',
    detail: 'SIGBUS',
    reason:
      'DONTNEED zaps the entries vm_insert_page* / remap_vmalloc_range put in at mmap time; with no ' +
      '->fault handler the next touch cannot be served, so it is SIGBUS: a driver that maps at mmap ' +
      'time gives userspace no way back after DONTNEED',
  },
  {
    name: 'dontneed-refaults',
    series: '*',
    matches: (c) => c.scenario === 'dontneed-retouch',
    verdict: 'ok',
    reason: 'after DONTNEED the fault handler serves the same driver pages again: the data is still there',
  },
  {
    name: 'mprotect-write-segv',
    series: '*',
    matches: (c) => c.scenario === 'mprotect-write',
    verdict: 'user-signal',
    detail: 'SIGSEGV',
    reason: 'a write to a PROT_READ mapping is a protection fault whatever backs it',
  },
  {
    name: 'past-end-refused',
    series: '*',
    matches: (c) => c.scenario === 'past-end',
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'the module refuses a VMA larger than its buffer at mmap time, as a careful driver must; the ' +
      "fault handler's SIGBUS past the end is only a backstop (a file mapped past EOF is where SIGBUS is the rule)",
  },
  {
    name: 'fork-shares',
    series: '*',
    matches: (c) => c.scenario === 'fork',
    verdict: 'ok',
    reason:
      'a MAP_SHARED mapping stays shared across fork: pfn and mixed entries are copied to the child, ' +
      'fault-served ones are faulted in again from the same pages',
  },
  {
    name: 'partial-munmap-keeps-rest',
    series: '*',
    matches: (c) => c.scenario === 'partial-munmap',
    verdict: 'ok',
    reason: 'unmapping one page splits the VMA (->open sees the new one); the rest keeps mapping the buffer',
  },
  {
    name: 'large-kmalloc-fault',
    series: '*',
    matches: (c) => c.alloc === 'kmalloc' && c.size > 8192 && c.method === 'fault_page',
    verdict: 'ok',
    reason:
      'above 8 KiB kmalloc returns compound pages from the page allocator, which refcount and ' +
      'map like alloc_pages(__GFP_COMP): the folklore rule is about slab memory',
  },
  ...USE_RULES,
  {
    name: 'placement-changes-nothing',
    series: '*',
    matches: (c) => (PLACEMENT_SCENARIOS as readonly Scenario[]).includes(c.scenario) && support(c.alloc, c.method) === 'safe',
    verdict: 'ok',
    reason:
      'mmap(2) leaves the address to the kernel or to the caller (a hint, MAP_FIXED over a mapping the ' +
      'caller owns) and rounds the length up to whole pages; neither changes what the driver maps at ' +
      'which offset, so the data crosses both ways, a child that writes and exits leaves nothing behind, ' +
      'and what the kernel set up for the mapping it also takes down, whatever the alignment',
  },
  {
    name: 'documented-method',
    series: '*',
    matches: (c) => support(c.alloc, c.method) === 'safe',
    verdict: 'ok',
    reason: 'a supported allocator/method pair used as its API documents',
  },
];

/**
 * The first rule, in table order, for this cell on this series. A cell of a
 * newer catalogue (an allocator or method this mmaplab does not know) has
 * none: no rule was written for it.
 */
export function expectationFor(cell: CellSpec, series: string): (Expectation & { name: string }) | undefined {
  if (!(CELL_ALLOCS as readonly string[]).includes(cell.alloc) || !(CELL_METHODS as readonly string[]).includes(cell.method)) {
    return undefined;
  }
  if (cell.via === 'dmabuf') return dmabufLikeItsTwin(cell, series);
  if (cell.reserved === 'cleared' && !reservedIsHazard(cell.alloc)) return reservedLikeItsTwin(cell, series);
  const rule = RULES.find((r) => (r.series === '*' || r.series === series) && r.matches(cell));
  if (!rule) return undefined;
  const e: Expectation & { name: string } = {
    name: rule.name,
    series: rule.series,
    verdict: rule.verdict,
    reason: rule.reason,
  };
  if (rule.detail !== undefined) e.detail = rule.detail;
  if (rule.also !== undefined) e.also = rule.also;
  const observed = (rule.observed ?? [])
    .filter((o) => (o.series === '*' || o.series === series) && (o.only?.(cell) ?? true))
    .map(({ only: _only, ...o }) => o);
  if (observed.length > 0) e.observed = observed;
  return e;
}

/** The cell without the reserved-page ritual: its A/B twin. */
export function withoutReserved(cell: CellSpec): CellSpec {
  const { reserved: _reserved, ...plain } = cell;
  return { ...plain, id: plain.id.replace(/\/reserved$/, '') };
}

/**
 * A cell whose pages were marked reserved and cleared again before the free
 * is predicted to come out as its twin without: no mapping path of either
 * kernel reads PG_reserved (remap_pfn_range stopped needing it in 2.6.15),
 * and the free sees no flag.
 */
function reservedLikeItsTwin(cell: CellSpec, series: string): (Expectation & { name: string }) | undefined {
  const e = expectationFor(withoutReserved(cell), series);
  if (e === undefined) return undefined;
  return {
    ...e,
    name: `reserved-changes-nothing (${e.name})`,
    reason:
      'SetPageReserved is read by no mapping path (vm_insert_page*, remap_pfn_range, the fault path, GUP, zap) and ' +
      `is cleared before the free, so the cell comes out as without it: ${e.reason}`,
  };
}

/** The cell mapped through the device's own descriptor: its dma-buf twin's A. */
export function withoutDmabuf(cell: CellSpec): CellSpec {
  const { via: _via, ...plain } = cell;
  return { ...plain, id: plain.id.replace(/\/dmabuf$/, '') };
}

/**
 * A cell mapped through a dma-buf is predicted to come out as its twin
 * mapped through the device (read in both kernels' drivers/dma-buf before
 * the first run): the fd's mmap (dma_buf_mmap_internal) checks only that
 * the range fits the dma-buf's size and calls the exporter's ->mmap with
 * the VMA as it is, and neither the dma-buf core nor mm/ looks at what the
 * VMA's file is afterwards. The one difference: a range past the buffer's
 * end is refused by that size check, before the module sees it, with the
 * same EINVAL (and no reason from the module).
 */
function dmabufLikeItsTwin(cell: CellSpec, series: string): (Expectation & { name: string }) | undefined {
  if (cell.scenario === 'past-end') {
    return {
      name: 'dmabuf-core-checks-the-size',
      series: '*',
      verdict: 'refused',
      detail: 'EINVAL',
      reason:
        "dma_buf_mmap_internal refuses a range past the dma-buf's size with EINVAL before calling the " +
        "exporter's ->mmap, so the module never sees the request (LAST_ERROR stays empty)",
    };
  }
  const e = expectationFor(withoutDmabuf(cell), series);
  if (e === undefined) return undefined;
  return {
    ...e,
    name: `dmabuf-maps-as-the-device (${e.name})`,
    reason:
      "the dma-buf's mmap hands the VMA to the exporter's ->mmap unchanged and nothing looks at the VMA's file " +
      `afterwards, so the cell comes out as mapped through the device: ${e.reason}`,
  };
}

function fits(o: Outcome, verdict: Verdict, detail: string): boolean {
  return o.verdict === verdict && (o.detail === undefined || o.detail === detail);
}

/** The outcomes an expectation's prediction accepts. */
export function predicted(e: Expectation): Outcome[] {
  return [{ verdict: e.verdict, ...(e.detail !== undefined ? { detail: e.detail } : {}) }, ...(e.also ?? [])];
}

export function compare(cell: CellSpec, series: string, verdict: Verdict, detail: string): Agreement {
  const e = expectationFor(cell, series);
  if (!e) return 'no-expectation';
  if (predicted(e).some((o) => fits(o, verdict, detail))) return 'agrees';
  return (e.observed ?? []).some((o) => fits(o, verdict, detail)) ? 'as-recorded' : 'differs';
}
