/** Plain, JSON-serialisable data describing experiments and their outcomes. */

export type AllocName = 'vmalloc_user' | 'pages_nocomp';
export type MethodName = 'remap_vmalloc_range' | 'fault_page';
export type Scenario = 'basic';

export interface CellSpec {
  /** Stable identifier, e.g. "vmalloc_user/remap_vmalloc_range/64K/basic". */
  id: string;
  alloc: AllocName;
  method: MethodName;
  size: number;
  scenario: Scenario;
  /** Needs the module's allow_hazards=1; reproduces a documented failure. */
  hazard: boolean;
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

export type ProbeStep =
  | 'open'
  | 'configure'
  | 'fill'
  | 'mmap'
  | 'read'
  | 'write'
  | 'verify'
  | 'munmap'
  | 'drain'
  | 'close';

/** What the userspace probe saw while running one cell. */
export interface ProbeObservation {
  /** Steps completed, in order. */
  steps: ProbeStep[];
  /** A step the kernel refused, with its errno name. */
  refused: { step: ProbeStep; code: string; message: string } | null;
  /** Kernel wrote the pattern, userspace read it through the mapping. */
  kernelToUser: Mismatch | null;
  /** Userspace wrote through the mapping, the kernel checked it. */
  userToKernel: Mismatch | null;
  /** The probe process died from this signal (SIGBUS, SIGSEGV, SIGKILL...). */
  signal: string | null;
  /** Probe failure that is not a kernel answer (a bug in mmaplab itself). */
  error: string | null;
  /**
   * The CPU whose per-CPU page lists were drained between munmap and close
   * (null: none could be, so a double free may have gone unnoticed).
   */
  drainedCpu: number | null;
}

/** An observation with nothing seen yet; the probe fills it step by step. */
export function emptyObservation(): ProbeObservation {
  return {
    steps: [],
    refused: null,
    kernelToUser: null,
    userToKernel: null,
    signal: null,
    error: null,
    drainedCpu: null,
  };
}

/** A kernel-log finding as recorded in a cell's evidence. */
export interface EvidenceFinding {
  kind: string;
  severity: 'complaint' | 'oops' | 'panic';
  line: string;
  reason?: string;
}

export interface CellEvidence {
  /** The cell's /dev/kmsg window (messages only). */
  kmsg: string[];
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
}
