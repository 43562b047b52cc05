/**
 * The claims mmaplab tests: rules from kernel folklore and from the API's
 * own contract, each tied to the catalogue cells that test it.
 *
 * A claim says nothing about what was observed. It has two functions:
 * `cells` picks the cells that bear on it, and `holds` reads ONE run of such
 * a cell and says whether that observation is what the claim says (true),
 * is not (false), or says nothing about it (null: mmaplab's own error, a
 * hazard the module refused to run, consecutive pfns that hide the hazard).
 * evaluateClaims() then counts, per kernel, the runs of the matching cells
 * of a report: all informative runs hold -> supports, none -> contradicts,
 * some of each -> mixed, no informative run -> untested.
 */
import type { MatrixReport, ReportCell } from '../report/schema';
import { reportKernels } from '../report/view';
import { CATALOGUE, RESERVABLE_ALLOCS, SIZES } from './catalogue';
import { PFN_METHODS } from './support';
import { seriesOf } from '../vm/kernels';
import { expectationFor, withoutDmabuf } from './expectations';
import type { CellResult, CellSpec } from './types';

export type ClaimSource = 'folklore' | 'API contract';

export interface Claim {
  id: string;
  text: string;
  source: ClaimSource;
  /** How the cells test it, and what counts as holding. */
  test: string;
  cells: (c: CellSpec) => boolean;
  /** One run of a matching cell: true it shows the claim, false it shows otherwise, null it shows nothing. */
  holds: (run: CellResult) => boolean | null;
}

export type ClaimStatus = 'supports' | 'contradicts' | 'mixed' | 'untested';

export interface RunCounts {
  holds: number;
  fails: number;
  /** Runs that say nothing about the claim. */
  silent: number;
}

export interface ClaimCellResult {
  id: string;
  verdict: string;
  detail: string;
  agreement: ReportCell['agreement'];
  distribution: Record<string, number>;
  status: ClaimStatus;
  counts: RunCounts;
}

export interface ClaimKernelResult {
  kernel: string;
  series: string;
  status: ClaimStatus;
  counts: RunCounts;
  cells: ClaimCellResult[];
  /** Catalogue cells of the claim this report does not have for this kernel. */
  notRun: string[];
}

export interface ClaimResult {
  id: string;
  text: string;
  source: ClaimSource;
  test: string;
  kernels: ClaimKernelResult[];
}

const SLAB_MAX = 8192;
const INSERT_METHODS: readonly string[] = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages'];
const KERNEL_FAILURES: readonly string[] = ['kernel-complaint', 'oops', 'panic', 'hang'];

/** Ordinary use: map, read, write, unmap (in either order). */
const ordinaryUse = (c: CellSpec): boolean =>
  (c.scenario === 'basic' || c.scenario === 'write-first') && c.reserved === undefined && c.via === undefined;
const slabKmalloc = (c: CellSpec): boolean => c.alloc === 'kmalloc' && c.size <= SLAB_MAX;

/** A run that tells nothing about the kernel: mmaplab failed, or the module's hazard gate refused. */
function uninformative(run: CellResult): boolean {
  return run.verdict === 'error' || (run.verdict === 'refused' && run.detail === 'EPERM' && run.cell.hazard);
}

/** The claim says this works: ok holds, anything else (a refusal included) fails. */
function works(run: CellResult): boolean | null {
  if (uninformative(run)) return null;
  return run.verdict === 'ok';
}

/** The claim says this goes wrong: anything but ok holds. */
function goesWrong(run: CellResult): boolean | null {
  if (uninformative(run)) return null;
  return run.verdict !== 'ok';
}

/** The claim says the kernel breaks (complains, oopses, panics, hangs); a refusal shows nothing. */
function kernelBreaks(run: CellResult): boolean | null {
  if (uninformative(run) || run.verdict === 'refused') return null;
  return KERNEL_FAILURES.includes(run.verdict);
}

export const CLAIMS: readonly Claim[] = [
  {
    id: 'kmalloc-remap-pfn-range',
    text: 'kmalloc memory can be remapped with remap_pfn_range',
    source: 'folklore',
    test: 'kmalloc buffers (slab and large) mapped with remap_pfn_range; holds when the cell is ok',
    cells: (c) => c.alloc === 'kmalloc' && c.method === 'remap_pfn_range' && ordinaryUse(c),
    holds: works,
  },
  {
    id: 'kmalloc-fault-bad-page',
    text: 'kmalloc memory cannot be mapped through a fault handler returning virt_to_page (nopage): ' + 'it gives Bad page state at munmap',
    source: 'folklore',
    test:
      'kmalloc buffers (4K slab, read and write first; 64K large) handed out by fault_page; holds when ' +
      'the kernel complains, oopses, panics or hangs (the verdicts show which), fails when the cell is ok',
    cells: (c) => c.alloc === 'kmalloc' && c.method === 'fault_page' && ordinaryUse(c),
    holds: kernelBreaks,
  },
  {
    id: 'fault-needs-page-allocator',
    text: 'use alloc_pages or vmalloc for the fault method',
    source: 'folklore',
    test: 'page-allocator and vmalloc buffers handed out by fault_page (with and without fault-around); holds when ok',
    cells: (c) =>
      ['pages_array', 'pages_comp', 'pages_split', 'vmalloc', 'vmalloc_user'].includes(c.alloc) &&
      c.method === 'fault_page' &&
      ordinaryUse(c),
    holds: works,
  },
  {
    id: 'nocomp-fault-bad-page',
    text: 'alloc_pages high-order without __GFP_COMP + a fault handler with get_page gives Bad page state',
    source: 'folklore',
    test:
      'pages_nocomp handed out by fault_page; holds when the kernel reports Bad page state (or taint B), ' + 'fails on any other outcome',
    cells: (c) => c.alloc === 'pages_nocomp' && c.method === 'fault_page' && ordinaryUse(c),
    holds: (run) => {
      if (uninformative(run) || run.verdict === 'refused') return null;
      return run.verdict === 'kernel-complaint' && ['bad-page-state', 'taint-B'].includes(run.detail);
    },
  },
  {
    id: 'vmalloc-remap-page-by-page',
    text:
      'remap_pfn_range of vmalloc memory must be done page by page (vmalloc_to_pfn); one call from ' +
      'the first pfn maps the wrong memory',
    source: 'folklore',
    test:
      'vmalloc and vmalloc_user buffers mapped page by page (holds when ok) and in one call from the ' +
      'first pfn (holds when anything goes wrong; a clean run fails only if INFO showed non-consecutive ' +
      'pfns: with consecutive or unknown ones it tests nothing)',
    cells: (c) =>
      ['vmalloc', 'vmalloc_user'].includes(c.alloc) &&
      ['remap_pfn_range', 'remap_pfn_range_first_pfn'].includes(c.method) &&
      ordinaryUse(c),
    holds: (run) => {
      if (run.cell.method === 'remap_pfn_range') return works(run);
      const wrong = goesWrong(run);
      if (wrong === false && run.evidence.observation?.pfnsConsecutive !== false) return null;
      return wrong;
    },
  },
  {
    id: 'insert-needs-refcounted-pages',
    text: 'vm_insert_page needs refcounted, non-slab pages',
    source: 'API contract',
    test:
      'slab kmalloc and pages_nocomp (tail pages with refcount 0) mapped with vm_insert_page(s) and ' +
      'vm_map_pages; holds when the cell is not ok (the kernel is expected to refuse)',
    cells: (c) => INSERT_METHODS.includes(c.method) && (slabKmalloc(c) || c.alloc === 'pages_nocomp') && ordinaryUse(c),
    holds: goesWrong,
  },
  {
    id: 'remap-vmalloc-range-needs-usermap',
    text: 'remap_vmalloc_range requires VM_USERMAP (vmalloc_user)',
    source: 'API contract',
    test: 'remap_vmalloc_range of vmalloc (holds when not ok) and of vmalloc_user (holds when ok)',
    cells: (c) => c.method === 'remap_vmalloc_range' && ['vmalloc', 'vmalloc_user'].includes(c.alloc) && ordinaryUse(c),
    holds: (run) => (run.cell.alloc === 'vmalloc_user' ? works(run) : goesWrong(run)),
  },
  {
    id: 'free-while-mapped',
    text:
      'memory freed while still mapped: PFN mappings keep pointing at freed memory (silent ' +
      'use-after-free), refcounted mappings keep the pages alive',
    source: 'folklore',
    test:
      'the driver frees its buffer while userspace maps it; a pfn mapping holds when it reads changed ' +
      'data with no kernel complaint (wrong-data), a refcounted one when the data stays intact (ok)',
    cells: (c) => c.scenario === 'free-while-mapped',
    holds: (run) => {
      if (uninformative(run)) return null;
      if ((PFN_METHODS as readonly string[]).includes(run.cell.method)) return run.verdict === 'wrong-data';
      return run.verdict === 'ok';
    },
  },
  {
    id: 'reserved-for-remap',
    text: 'pages must be marked reserved (SetPageReserved) before remap_pfn_range, or mmap will not work',
    source: 'folklore',
    test:
      'remap_pfn_range of every allocator with pages of its own, without SetPageReserved (holds when it goes ' +
      'wrong, fails when ok) beside its twin with it (shown; fails the claim only if it goes wrong too; on ' +
      "kmalloc and pages_comp the twin is a hazard, since their pages are compound and PG_reserved isn't theirs)",
    cells: (c) =>
      c.method === 'remap_pfn_range' &&
      RESERVABLE_ALLOCS.includes(c.alloc) &&
      c.scenario === 'basic' &&
      c.cache === 'wb' &&
      c.via === undefined &&
      SIZES[c.alloc].includes(c.size) &&
      (!c.hazard || c.reserved === 'cleared'),
    holds: (run) => (run.cell.reserved === 'cleared' ? (works(run) === false ? false : null) : goesWrong(run)),
  },
  {
    id: 'reserved-must-be-cleared',
    text: 'a page still marked reserved when it is freed gives Bad page state',
    source: 'folklore',
    test: 'buffers freed with PG_reserved left set (order-0 pages and high-order blocks); holds when the kernel complains',
    cells: (c) => c.reserved === 'kept',
    holds: kernelBreaks,
  },
  {
    id: 'dmabuf-needs-pfnmap',
    text: 'a dma-buf exporter must map its buffer as pfns (VM_PFNMAP): the dma-buf core rejects a mapping of struct pages',
    source: 'folklore',
    test:
      'the dma-buf twins of the page-based methods (fault_page, vm_insert_page*, vm_map_pages, ' +
      'remap_vmalloc_range) on every allocator they map; holds when the kernel complains or refuses what it ' +
      'maps through the device, fails when the mapping works',
    cells: (c) =>
      c.via === 'dmabuf' &&
      c.scenario === 'basic' &&
      !(PFN_METHODS as readonly string[]).includes(c.method) &&
      SIZES[c.alloc].includes(c.size) &&
      !c.hazard,
    holds: (run) => {
      if (uninformative(run)) return null;
      // A refusal the twin through the device gets too (slab pages, say) is not the dma-buf's.
      if (run.verdict === 'refused' && expectationFor(withoutDmabuf(run.cell), seriesOf(run.kernel))?.verdict === 'refused') return null;
      return run.verdict !== 'ok';
    },
  },
  {
    id: 'fault-without-get-page',
    text: 'forgetting get_page in the fault handler corrupts refcounts',
    source: 'folklore',
    test:
      'fault_page_noref on every page-backed allocator; holds when the kernel reports the damage ' +
      '(complaint, oops, panic, hang); a silent run fails: mmaplab sees only what the kernel reports',
    cells: (c) => c.method === 'fault_page_noref' && ordinaryUse(c),
    holds: kernelBreaks,
  },
];

function statusOf(n: RunCounts): ClaimStatus {
  if (n.holds > 0 && n.fails > 0) return 'mixed';
  if (n.holds > 0) return 'supports';
  if (n.fails > 0) return 'contradicts';
  return 'untested';
}

function add(a: RunCounts, b: RunCounts): RunCounts {
  return { holds: a.holds + b.holds, fails: a.fails + b.fails, silent: a.silent + b.silent };
}

function judgeCell(claim: Claim, rc: ReportCell): ClaimCellResult {
  const counts: RunCounts = { holds: 0, fails: 0, silent: 0 };
  for (const run of rc.runs) {
    const h = claim.holds(run);
    if (h === true) counts.holds++;
    else if (h === false) counts.fails++;
    else counts.silent++;
  }
  return {
    id: rc.cell.id,
    verdict: rc.verdict,
    detail: rc.detail,
    agreement: rc.agreement,
    distribution: rc.distribution,
    status: statusOf(counts),
    counts,
  };
}

/** Per claim and kernel: the matching cells with their verdicts, and what their runs say about the claim. */
export function evaluateClaims(report: MatrixReport, claims: readonly Claim[] = CLAIMS): ClaimResult[] {
  const kernels = reportKernels(report);
  return claims.map((claim) => ({
    id: claim.id,
    text: claim.text,
    source: claim.source,
    test: claim.test,
    kernels: kernels.map((k): ClaimKernelResult => {
      const matched = report.cells.filter((rc) => rc.kernel === k.release && claim.cells(rc.cell));
      const cells = matched.map((rc) => judgeCell(claim, rc));
      const counts = cells.reduce((acc, c) => add(acc, c.counts), { holds: 0, fails: 0, silent: 0 });
      const ran = new Set(matched.map((rc) => rc.cell.id));
      return {
        kernel: k.release,
        series: k.series,
        status: statusOf(counts),
        counts,
        cells,
        notRun: CATALOGUE.filter((c) => claim.cells(c) && !ran.has(c.id)).map((c) => c.id),
      };
    }),
  }));
}
