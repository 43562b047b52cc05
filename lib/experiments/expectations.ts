/**
 * What documented kernel knowledge predicts for each cell, with the reason.
 * Rules are tried in order; the first that matches a cell (and its kernel
 * series) is its expectation. Reports show these next to what was observed;
 * they never decide a verdict.
 */
import { support } from './support';
import type { CellSpec, Verdict } from './types';

export interface Expectation {
  /** Kernel series this rule is for ("6.1"), or "*" for all. */
  series: string;
  verdict: Verdict;
  /** The detail expected with the verdict: errno for refusals, finding kind for complaints. */
  detail?: string;
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
    name: 'fault-on-slab-6.1',
    series: '6.1',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page',
    verdict: 'oops',
    reason:
      'the fault path does not check for slab pages; the write fault dirties the page and ' +
      "reads the slab's own data as page->mapping (fault_dirty_shared_page -> inode_to_bdi)",
  },
  {
    name: 'fault-on-slab-6.12',
    series: '6.12',
    matches: (c) => slabKmalloc(c) && c.method === 'fault_page',
    verdict: 'kernel-complaint',
    detail: 'bad-rss-counter',
    reason:
      'slab is a page type on 6.12, sharing the mapcount word: rmap accounting of the slab page ' +
      'goes wrong and exit reports "Bad rss-counter state"',
  },
  {
    name: 'nocomp-refcounted',
    series: '*',
    matches: (c) =>
      c.alloc === 'pages_nocomp' && ['fault_page', ...insertMethods].includes(c.method),
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'without __GFP_COMP the tail pages have refcount 0: the mapping takes and drops a reference, ' +
      'freeing them under the driver; freeing the block then finds pages in a bad state',
  },
  {
    name: 'nocomp-pfnmap',
    series: '*',
    matches: (c) => c.alloc === 'pages_nocomp' && ['remap_pfn_range', 'vmf_insert_pfn'].includes(c.method),
    verdict: 'ok',
    reason: 'pfn mappings never touch struct page refcounts, so the zero-refcount tail pages are not disturbed',
  },
  {
    name: 'fault-without-reference',
    series: '*',
    matches: (c) => c.method === 'fault_page_noref',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'munmap drops a reference the fault handler never took: the page is freed while the driver ' +
      'still owns it, and the driver freeing it again is caught by the page allocator',
  },
  {
    name: 'virt-to-page-on-vmalloc',
    series: '*',
    matches: (c) => c.method === 'fault_virt_to_page',
    verdict: 'wrong-data',
    reason: 'virt_to_page() of a vmalloc address computes an unrelated struct page: userspace sees other memory',
  },
  {
    name: 'first-pfn-over-noncontiguous',
    series: '*',
    matches: (c) => c.method === 'remap_pfn_range_first_pfn',
    verdict: 'wrong-data',
    reason:
      'one remap_pfn_range from the first pfn maps the physically following pages, not the ' +
      "buffer's other pages: only the first page is right",
  },
  {
    name: 'free-while-mapped-pfnmap',
    series: '*',
    matches: (c) => c.scenario === 'free-while-mapped' && ['remap_pfn_range', 'vmf_insert_pfn'].includes(c.method),
    verdict: 'wrong-data',
    detail: 'after-free',
    reason:
      'VM_PFNMAP mappings hold no page references: after the driver frees the buffer userspace ' +
      'keeps reading memory the kernel has freed (zeroes with init_on_free=1) - a silent use-after-free',
  },
  {
    name: 'free-while-mapped-refcounted',
    series: '*',
    matches: (c) => c.scenario === 'free-while-mapped',
    verdict: 'ok',
    reason:
      'the mapping holds its own page references (vm_insert_page, remap_vmalloc_range): the pages ' +
      'outlive the driver\'s free until munmap, so the data stays intact',
  },
  {
    name: 'large-kmalloc-fault',
    series: '*',
    matches: (c) => c.alloc === 'kmalloc' && c.method === 'fault_page',
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
  return e;
}

export type Agreement = 'agrees' | 'differs' | 'no-expectation';

export function compare(cell: CellSpec, series: string, verdict: Verdict, detail: string): Agreement {
  const e = expectationFor(cell, series);
  if (!e) return 'no-expectation';
  if (e.verdict !== verdict) return 'differs';
  if (e.detail !== undefined && e.detail !== detail) return 'differs';
  return 'agrees';
}
