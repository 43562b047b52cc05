/**
 * What documented kernel knowledge predicts for each cell, with the reason.
 * Rules are tried in order; the first that matches a cell (and its kernel
 * series) is its expectation. Reports show these next to what was observed;
 * they never decide a verdict.
 */
import { support } from './support';
import type { CellSpec, Verdict } from './types';

export interface Outcome {
  verdict: Verdict;
  /** The detail expected with the verdict: errno for refusals, finding kind for complaints. */
  detail?: string;
}

export interface Expectation extends Outcome {
  /** Kernel series this rule is for ("6.1"), or "*" for all. */
  series: string;
  /**
   * Other outcomes seen for this hazard and explained by the reason (a
   * double free reported by whichever task next touches the page, memory
   * corruption that may or may not hit something vital). Empty for cells
   * whose outcome is deterministic.
   */
  also?: Outcome[];
  reason: string;
}

export interface ExpectationRule extends Expectation {
  /** Short name of the rule, shown in reports. */
  name: string;
  matches: (c: CellSpec) => boolean;
}

const slabKmalloc = (c: CellSpec): boolean => c.alloc === 'kmalloc' && c.size <= 8192;
const insertMethods = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages'];

export const RULES: ExpectationRule[] = [
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
    matches: (c) => c.alloc === 'pages_nocomp' && insertMethods.includes(c.method),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'vm_insert_page refuses a page whose refcount is 0 - the tail pages of a block without ' +
      '__GFP_COMP - so this hazard never reaches the page tables',
  },
  {
    name: 'fault-on-slab-write-first-6.1',
    series: '6.1',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page' && c.scenario === 'write-first',
    verdict: 'oops',
    reason:
      'the fault path does not check for slab pages; a write fault dirties the page and reads ' +
      "slab's own data as page->mapping (fault_dirty_shared_page -> inode_to_bdi)",
  },
  {
    name: 'fault-on-slab-6.12',
    series: '6.12',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page',
    verdict: 'ok',
    also: [{ verdict: 'kernel-complaint', detail: 'bad-rss-counter' }],
    reason:
      'on 6.12 slab is a page type and folio_mapping() of a slab folio is NULL, so dirtying it is ' +
      'harmless; mapping it still skews rss accounting, reported as "Bad rss-counter" at exit on ' +
      'some runs, and silence otherwise',
  },
  {
    name: 'fault-on-slab-read-first-6.1',
    series: '6.1',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page',
    verdict: 'ok',
    reason:
      'observed: when the first touch of the slab page is a read, the later write does not oops ' +
      '6.1 (the write-first cell does); the folklore failure depends on the access order',
  },
  {
    name: 'nocomp-fault',
    series: '*',
    matches: (c) => c.alloc === 'pages_nocomp' && c.method === 'fault_page',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'without __GFP_COMP the tail pages have refcount 0: get_page/put_page in the fault path ' +
      'frees them under the driver; freeing the block then finds pages in a bad state',
  },
  {
    name: 'nocomp-pfnmap',
    series: '*',
    matches: (c) => c.alloc === 'pages_nocomp' && ['remap_pfn_range', 'vmf_insert_pfn'].includes(c.method),
    verdict: 'ok',
    reason: 'pfn mappings never touch struct page refcounts, so the zero-refcount tail pages are not disturbed',
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
    name: 'noref-compound-6.12',
    series: '6.12',
    matches: (c) =>
      c.method === 'fault_page_noref' && (['pages_comp', 'pages_split'].includes(c.alloc) || (c.alloc === 'kmalloc' && c.size > 8192)),
    verdict: 'ok',
    also: [{ verdict: 'kernel-complaint', detail: 'bad-page-state' }],
    reason:
      'observed silent on 6.12: the extra put drops the refcount of a page the driver frees ' +
      'again, and without CONFIG_DEBUG_VM the underflow is not checked - a silent double free',
  },
  {
    name: 'fault-without-reference',
    series: '*',
    matches: (c) => c.method === 'fault_page_noref',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    also: [
      { verdict: 'kernel-complaint', detail: 'taint-B' },
      { verdict: 'kernel-complaint', detail: 'warning' },
      { verdict: 'oops' },
      { verdict: 'panic' },
      { verdict: 'hang' },
      { verdict: 'ok' },
    ],
    reason:
      'munmap drops a reference the fault handler never took: the page is freed while the driver ' +
      'still owns it; the second free is reported as Bad page state - sometimes by whichever task ' +
      'next drains the page lists, after the window (then only taint B, or nothing, lands in it) - ' +
      'or the reused page takes the kernel down',
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
    also: [
      { verdict: 'ok' },
      { verdict: 'kernel-complaint' },
      { verdict: 'oops' },
      { verdict: 'panic' },
      { verdict: 'hang' },
    ],
    reason:
      "one remap_pfn_range from the first pfn maps the physically following pages, not the buffer's " +
      'others: userspace sees foreign data, and its writes land in memory the kernel uses (a ' +
      'corrupted page table shows as bad pud and bad rss-counter, or an oops, a panic, a wedged ' +
      'kernel); it looks ok only when the allocator happened to hand out consecutive pfns (INFO shows it)',
  },
  {
    name: 'free-while-mapped-pfnmap',
    series: '*',
    matches: (c) => c.scenario === 'free-while-mapped' && ['remap_pfn_range', 'vmf_insert_pfn'].includes(c.method),
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
      "the mapping holds its own page references (vm_insert_page, remap_vmalloc_range): the pages " +
      "outlive the driver's free until munmap, so the data stays intact",
  },
  {
    name: 'private-pfnmap-refused',
    series: '*',
    matches: (c) => c.scenario === 'private-write' && c.method === 'vmf_insert_pfn',
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
      c.scenario === 'private-write' && c.method === 'remap_pfn_range' && ['vmalloc', 'vmalloc_user', 'pages_array'].includes(c.alloc),
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
      c.scenario === 'dontneed-retouch' && ['remap_pfn_range', 'vmf_insert_pfn', 'dma_mmap_coherent'].includes(c.method),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'madvise(MADV_DONTNEED) refuses VM_PFNMAP areas (can_madv_lru_vma)',
  },
  {
    name: 'dontneed-prefaulted-sigbus',
    series: '*',
    matches: (c) => c.scenario === 'dontneed-retouch' && c.method !== 'fault_page',
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
      "the module refuses a VMA larger than its buffer at mmap time, as a careful driver must; the " +
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
  {
    name: 'documented-technique',
    series: '*',
    matches: (c) => support(c.alloc, c.method) === 'safe',
    verdict: 'ok',
    reason: 'a supported allocator/technique pair used as its API documents',
  },
];

/** The first rule, in table order, for this cell on this series. */
export function expectationFor(cell: CellSpec, series: string): (Expectation & { name: string }) | undefined {
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
  return e;
}

export type Agreement = 'agrees' | 'differs' | 'no-expectation';

export function compare(cell: CellSpec, series: string, verdict: Verdict, detail: string): Agreement {
  const e = expectationFor(cell, series);
  if (!e) return 'no-expectation';
  const fits = (o: Outcome): boolean => o.verdict === verdict && (o.detail === undefined || o.detail === detail);
  return fits(e) || (e.also ?? []).some(fits) ? 'agrees' : 'differs';
}
