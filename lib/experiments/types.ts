/** Plain, JSON-serialisable data describing experiments and their outcomes. */
import type { UseName } from './uses';

export const ALLOCATORS = [
  'kmalloc',
  'vmalloc',
  'vmalloc_user',
  'pages_array',
  'pages_comp',
  'pages_split',
  'pages_nocomp',
  'dma_coherent',
  'pci_bar',
  'dma_device',
  'shmem',
  'dma_pages',
] as const;
export type AllocName = (typeof ALLOCATORS)[number];

export const METHODS = [
  'remap_pfn_range',
  'remap_pfn_range_first_pfn',
  'fault_page',
  'fault_page_noref',
  'fault_virt_to_page',
  'vm_insert_page',
  'vm_insert_pages',
  'vm_map_pages',
  'remap_vmalloc_range',
  'vmf_insert_pfn',
  'vmf_insert_pfn_prot',
  'vmf_insert_mixed',
  'dma_mmap_coherent',
  'io_remap_pfn_range',
  'vm_iomap_memory',
  'dma_mmap_pages',
] as const;
export type MethodName = (typeof METHODS)[number];

export type CacheName = 'wb' | 'wc' | 'uc';

/**
 * - basic: kernel FILL -> user reads; user writes -> kernel VERIFY; munmap, close.
 * - write-first: the same in the other order, so the first touch of every
 *   page is a write fault (the slab fault hazard needs one to hit 6.1).
 * - free-while-mapped: map and read, then the driver frees the buffer while
 *   mapped; the probe reads the mapping again (does it still see the pattern?).
 * - fork: a forked child writes through the inherited shared mapping; the
 *   parent and the kernel must both see its writes.
 * - private-write: MAP_PRIVATE, read, write: the writes must stay private
 *   (copy-on-write), never reach the driver's buffer; or mmap refuses.
 * - partial-munmap: unmap the second page; the rest must still show the buffer.
 * - dontneed-retouch: read everything, madvise(DONTNEED), read again.
 * - mprotect-write: mprotect(PROT_READ), then write: SIGSEGV.
 * - past-end: mmap one page more than the buffer holds.
 *
 * Placement: the same data both ways as basic, with the mapping put where a
 * program may put it, and the writes done by a forked child that exits in
 * the cell's window (so the kernel checks that process's counters then).
 * - hint-2m: mmap hinted at a free 2 MiB-aligned address (x86-64's PMD size).
 * - hint-1g: mmap hinted at a free 1 GiB-aligned address (its PUD size).
 * - fixed-over: a second mmap with MAP_FIXED over the second page of a
 *   mapping of the same session (the first page for a one-page buffer),
 *   showing the same buffer page: the first VMA is split around it.
 * - short-length: mmap 100 bytes short of the buffer's end; the kernel
 *   rounds the length up to a page.
 *
 * - use: the kernel fills the buffer, userspace maps and reads it, then
 *   does what the cell's `use` names (./uses).
 */
export const SCENARIOS = [
  'basic',
  'write-first',
  'free-while-mapped',
  'fork',
  'private-write',
  'partial-munmap',
  'dontneed-retouch',
  'mprotect-write',
  'past-end',
  'hint-2m',
  'hint-1g',
  'fixed-over',
  'short-length',
  'use',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The scenarios that vary only where a mapping goes (and its length). */
export const PLACEMENT_SCENARIOS = ['hint-2m', 'hint-1g', 'fixed-over', 'short-length'] as const satisfies readonly Scenario[];

/**
 * Kernel command-line profile a cell needs. 'poison' boots with
 * page_poison=1 init_on_free=1 slub_debug=FZPU (and KFENCE sampling where
 * built in) so memory freed under a mapping reads back as poison instead of
 * (by luck) the old pattern.
 */
export type BootProfile = 'default' | 'poison';

export interface CellSpec {
  /** Stable identifier, e.g. "vmalloc_user/remap_vmalloc_range/64K/basic". */
  id: string;
  alloc: AllocName;
  method: MethodName;
  size: number;
  scenario: Scenario;
  cache: CacheName;
  faultAround: boolean;
  profile: BootProfile;
  /** Needs the module's allow_hazards=1; reproduces a documented failure. */
  hazard: boolean;
  /** Scenario 'use': what the program does with the mapping (absent otherwise). */
  use?: UseName;
  /**
   * The buffer's pages marked reserved (SetPageReserved), as old drivers
   * do: 'cleared' again before the free, or 'kept' (a hazard). Absent: not.
   */
  reserved?: 'cleared' | 'kept';
  /**
   * pci_bar mapped by a remap_pfn_range variant, without the module's
   * refusal to split the VMA (a hazard). Absent: the refusal is there.
   */
  splittable?: true;
  /**
   * 'dmabuf': the buffer is exported as a dma-buf and mapped through the
   * dma-buf's descriptor (its CPU access bracketed with DMA_BUF_IOCTL_SYNC),
   * as userspace of a GPU or camera driver maps it. Absent: through the
   * device's own descriptor.
   */
  via?: 'dmabuf';
  /** One line for people. */
  title: string;
}

export type Verdict =
  | 'ok'
  | 'refused'
  | 'wrong-data'
  | 'user-signal'
  | 'kernel-complaint'
  | 'oops'
  | 'panic'
  | 'hang'
  /** mmaplab itself failed (not a kernel result); the cell must be re-run. */
  | 'error';

/** Where the data disagreed: byte offset in the buffer and the two words. */
export interface Mismatch {
  offset: number;
  expected: number;
  found: number;
}

export const PROBE_STEPS = [
  'open',
  'configure',
  'fill',
  'mmap',
  'read',
  'write',
  'verify',
  'free',
  'reread',
  'fork',
  'advise',
  'protect',
  'unmap-part',
  'munmap',
  'drain',
  'close',
  'use',
  'device',
  'export',
  'sync',
] as const;
export type ProbeStep = (typeof PROBE_STEPS)[number];

/** The module's per-session counters (STATS), as numbers. */
export interface SessionStats {
  faults: number;
  mapPagesCalls: number;
  pagesMapped: number;
  vmaOpens: number;
  vmaCloses: number;
}

/** What the userspace probe saw while running one cell. */
export interface ProbeObservation {
  /** Steps completed, in order. */
  steps: ProbeStep[];
  /**
   * A step the kernel refused, with its errno name and the module's own
   * account of why (LAST_ERROR), when it has one.
   */
  refused: { step: ProbeStep; code: string; message: string; reason?: string; text?: string } | null;
  /** Kernel wrote the pattern, userspace read it through the mapping. */
  kernelToUser: Mismatch | null;
  /** Userspace wrote through the mapping, the kernel checked it. */
  userToKernel: Mismatch | null;
  /** The probe process (or its forked child) died from this signal (SIGBUS, SIGSEGV, SIGKILL...). */
  signal: string | null;
  /** The step the signal struck in, and the page it was accessing (null: unknown). */
  signalStep: ProbeStep | null;
  signalPage: number | null;
  /**
   * A scenario's own data check failed: what was checked ('fork-parent',
   * 'private-leak', 'private-copy', 'after-dontneed', 'after-partial-munmap',
   * 'placed-child', 'short-end') and where.
   */
  view: { what: string; mismatch: Mismatch } | null;
  /** Probe failure that is not a kernel answer (a bug in mmaplab itself). */
  error: string | null;
  /**
   * The CPU whose per-CPU page lists were drained between munmap and close
   * (null: none could be, so a double free may have gone unnoticed).
   */
  drainedCpu: number | null;
  /** STATS read before munmap (null if the cell never got that far). */
  stats: SessionStats | null;
  /** free-while-mapped: what the mapping showed after the driver freed it. */
  afterFree: Mismatch | null;
  /**
   * Scenario 'use': the use's own finding when it has one to report (the
   * verdict's detail when ok: 'resident-none', 'not-locked'...; '' when
   * there is nothing beyond the data), and the facts behind it. Null
   * before the use ran (and absent from older reports).
   */
  use?: UseObservation | null;
  /**
   * From INFO after CONFIGURE: whether the buffer's pfns happened to be
   * consecutive (explains a first-pfn remap that looks right). Null if unknown.
   */
  pfnsConsecutive: boolean | null;
  /**
   * What the device saw of what userspace wrote (lib/runner/device-side):
   * pci_bar cells read the BAR's host-side backing file; dma_device basic
   * cells have the device read the buffer by DMA. Absent for other cells
   * and in older reports.
   */
  deviceSide?: DeviceSide;
  /**
   * Cells mapped through a dma-buf: the DMA_BUF_IOCTL_SYNC calls the probe
   * made, and what the module counted of them (DMABUF QUERY) before the
   * descriptors were closed. Absent for other cells and in older reports.
   */
  dmabuf?: DmaBufObservation;
}

/** DMA_BUF_IOCTL_SYNC as made and as the exporter saw it. */
export interface DmaBufObservation {
  begun: number;
  ended: number;
  seenBegin: number;
  seenEnd: number;
}

/** The device's view of the buffer, and how it was had ('via'). */
export type DeviceSide =
  | { via: string; checked: true; mismatch: Mismatch | null }
  | { via: string; checked: false; why: string };

/** What a use found (scenario 'use'). */
export interface UseObservation {
  outcome: string;
  facts: Record<string, string | number | boolean>;
}

/** An observation with nothing seen yet; the probe fills it step by step. */
export function emptyObservation(): ProbeObservation {
  return {
    steps: [],
    refused: null,
    kernelToUser: null,
    userToKernel: null,
    signal: null,
    signalStep: null,
    signalPage: null,
    view: null,
    error: null,
    drainedCpu: null,
    stats: null,
    afterFree: null,
    use: null,
    pfnsConsecutive: null,
  };
}

/** A kernel-log finding as recorded in a cell's evidence. */
export interface EvidenceFinding {
  kind: string;
  severity: 'complaint' | 'oops' | 'panic';
  line: string;
  reason?: string;
}

/** A thread of a probe that missed its deadline, as /proc showed it before the kill. */
export interface StuckTask {
  tid: number;
  comm: string;
  /** The state letter of /proc/PID/task/TID/stat: R, S, D... */
  state: string;
  /** /proc/.../wchan: the kernel function it waits in (null: none). */
  wchan: string | null;
  /** /proc/.../syscall: the system call number and arguments, or "running". */
  syscall: string | null;
  /** /proc/.../stack frames, innermost first (null: not readable). */
  stack: string[] | null;
}

/** "main thread 154 (node) D at folio_wait_bit_common; stack: a < b < c": one line per thread, for every format. */
export function stuckTaskLines(tasks: readonly StuckTask[]): string[] {
  return tasks.map(
    (t) =>
      `thread ${t.tid} (${t.comm}) state ${t.state}${t.wchan ? ` at ${t.wchan}` : ''}` +
      `${t.syscall ? `, syscall ${t.syscall}` : ''}${t.stack && t.stack.length > 0 ? `; stack: ${t.stack.join(' < ')}` : ''}`,
  );
}

export interface CellEvidence {
  /** The cell's /dev/kmsg window (messages only). */
  kmsg: string[];
  /**
   * Records of the window the ring buffer overwrote before they were read
   * (absent: none). A window that lost records cannot show the cell was clean.
   */
  kmsgLost?: number;
  /**
   * A probe that missed its deadline: where its threads were (in the
   * kernel, at which function; or running) and the step and page it had
   * reached. Absent when the probe answered.
   */
  stuck?: { tasks: StuckTask[]; where: string; step: ProbeStep | null; page: number | null };
  findings: EvidenceFinding[];
  /** Taint letters gained during the cell (mmaplab's own O/E masked). */
  taintGained: string[];
  observation: ProbeObservation | null;
  /** Last console lines when the VM died during the cell. */
  console?: string[];
}

export interface CellResult {
  kernel: string;
  cell: CellSpec;
  verdict: Verdict;
  /** Finer classification: the headline finding kind, errno, signal... */
  detail: string;
  /** The one line that best explains the verdict. */
  headline: string;
  evidence: CellEvidence;
  durationMs: number;
  /** Where durationMs went, in the guest (absent for a cell judged from the console). */
  phasesMs?: CellPhases;
}

/**
 * A cell's time by phase, ms: `pin`, the kernel log's position and the
 * taint read and the probe pinned to the CPU it drains; `probe`,
 * the probe's own steps (device, mapping, checks, its CPU offline and
 * online); `retire`, a hazard probe's exit; `drain`, the per-CPU page lists
 * drained again (CPU offline and online); `judge`, taint, the cell's kernel
 * log, the findings and the verdict.
 */
export interface CellPhases {
  pin: number;
  probe: number;
  retire: number;
  drain: number;
  judge: number;
}
