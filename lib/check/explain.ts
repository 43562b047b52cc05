/**
 * A finding in the user's driver, explained by the rule in mmaplab's own
 * results that produces the same evidence: what the kernel checks, which
 * of mmaplab's cells show it, and what to do instead. Matched on what was
 * observed (scenario, verdict, finding kind and reason), never on the
 * driver's source, so it is a lead for the author, not a diagnosis.
 */
import type { CheckResult } from './types';
import { isFinding } from './types';

export interface Explanation {
  /** The rule, in a sentence. */
  rule: string;
  /** mmaplab cells (ids for `mmaplab run`) and claims ('claim ID', the report's claim rows) that show it. */
  see: string[];
  /** What a driver does instead. */
  instead: string;
}

interface Lead extends Explanation {
  matches: (r: CheckResult) => boolean;
}

const hasFinding = (r: CheckResult, kind: string, reason?: RegExp): boolean =>
  r.findings.some((f) => f.kind === kind && (reason === undefined || reason.test(f.reason ?? '')));

export const LEADS: readonly Lead[] = [
  {
    matches: (r) => hasFinding(r, 'bad-page-state', /CHECK_AT_FREE/),
    rule:
      'pages went back to the page allocator with a flag it checks at free time still set; PG_reserved, ' +
      'set "so that remap_pfn_range works" and never cleared, is the usual one',
    see: ['claim reserved-must-be-cleared', 'pages_comp/remap_pfn_range/16K/basic/reserved-kept'],
    instead:
      'drop SetPageReserved (remap_pfn_range never needed it); if it stays, ClearPageReserved every page before ' +
      'freeing, and never set it on compound pages (kmalloc, a __GFP_COMP block): PG_reserved is PF_NO_COMPOUND',
  },
  {
    matches: (r) => hasFinding(r, 'bad-page-state') || hasFinding(r, 'bad-rss-counter'),
    rule:
      'the core freed or unmapped a page whose references the driver did not account for: a fault handler ' +
      'that hands out a page without get_page, tail pages of a block allocated without __GFP_COMP, or slab memory',
    see: [
      'claim kmalloc-fault-bad-page',
      'pages_array/fault_page_noref/16K/basic',
      'pages_nocomp/fault_page/16K/basic',
      'kmalloc/fault_page/4K/basic',
    ],
    instead: 'take a reference for the core (get_page) in the fault handler, allocate with __GFP_COMP, or map with vm_insert_pages',
  },
  {
    matches: (r) => r.verdict === 'unload-allowed',
    rule: 'a live mapping must keep the module loaded: the VMA holds the file, the file holds the module through fops->owner',
    see: [],
    instead: 'set .owner = THIS_MODULE in the file_operations (misc and cdev drivers alike)',
  },
  {
    matches: (r) => (r.scenario === 'past-end' || r.scenario === 'mremap-grow') && r.verdict === 'ok',
    rule: 'the driver maps more than its buffer: the page past the end is some other memory, readable (and writable) by userspace',
    see: ['pages_comp/remap_pfn_range/16K/past-end', 'pages_array/fault_page/16K/past-end'],
    instead: 'refuse an mmap whose offset plus length passes the buffer, as remap_vmalloc_range and vm_map_pages do',
  },
  {
    matches: (r) => r.scenario === 'offset-map' && r.verdict === 'data-mismatch',
    rule: 'a mapping at an offset did not start at that offset of the buffer: the driver ignores vma->vm_pgoff',
    see: [],
    instead:
      'start the mapping at vm_pgoff pages into the buffer (remap_vmalloc_range and vm_map_pages take it), and check offset plus length',
  },
  {
    matches: (r) => r.scenario === 'read-write' && (r.verdict === 'data-mismatch' || r.verdict === 'refused'),
    rule:
      'read(2) or write(2) of the device and its mapping disagree at the same offset: one of them goes through a copy ' +
      'the other does not see, or ignores the file position (if read serves something other than the buffer, such as ' +
      'a status, this row does not apply)',
    see: [],
    instead: 'copy from and to the very buffer the mapping maps, at *ppos (simple_read_from_buffer, simple_write_to_buffer)',
  },
  {
    matches: (r) => r.verdict === 'data-mismatch',
    rule: 'a mapping did not show what was written through another view of the same buffer: the pages mapped are not the buffer',
    see: ['claim vmalloc-remap-page-by-page', 'vmalloc/remap_pfn_range_first_pfn/16K/basic'],
    instead: 'map each page of a discontiguous buffer by its own pfn or page (remap_vmalloc_range, vm_map_pages)',
  },
  {
    matches: (r) => r.verdict === 'leak',
    rule:
      'memory the kernel holds grew with every open/mmap/munmap/close cycle, in two windows in a row: something ' +
      'allocated in open, mmap or a fault is never freed (a buffer per open not freed in release, a page ' +
      'reference taken per fault and never put)',
    see: [],
    instead:
      'free in release what open allocated (or in the vm_ops close of the last mapping), and let the core own the ' +
      "fault's page reference (vmf->page with one get_page, no more)",
  },
  {
    matches: (r) => r.verdict === 'vm-died' || hasFinding(r, 'oops') || hasFinding(r, 'panic'),
    rule:
      'the VM died or stopped answering in this scenario (the console says which: an oops, a panic, or a hang); ' +
      "in mmaplab's own results that came from pages the core cannot handle (slab memory, freed memory)",
    see: ['kmalloc/fault_page/4K/write-first', 'pages_comp/remap_pfn_range/16K/free-while-mapped'],
    instead: 'map slab memory with remap_pfn_range or allocate whole pages; never free memory that is still mapped',
  },
];

/**
 * An explanation as lines: the rule, what to do instead, and where mmaplab
 * shows it (when it does); `markdown` sets the places as code.
 */
export function explanationLines(why: Explanation, markdown = false): string[] {
  const see = markdown ? why.see.map((s) => `\`${s}\``).join(', ') : why.see.join('; ');
  return [`rule: ${why.rule}`, `instead: ${why.instead}`, ...(why.see.length > 0 ? [`see: ${see}`] : [])];
}

/** The first lead that matches a finding, or null (no finding, or nothing mmaplab knows of). */
export function explain(r: CheckResult): Explanation | null {
  if (!isFinding(r)) return null;
  const lead = LEADS.find((l) => l.matches(r));
  return lead === undefined ? null : { rule: lead.rule, see: lead.see, instead: lead.instead };
}
