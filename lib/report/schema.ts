/**
 * report.json: the one source of truth of a matrix run. Every other format
 * (JUnit, TAP, Markdown, HTML) is rendered from it, and `mmaplab report DIR`
 * re-renders them from it alone. Versioned: a reader refuses a version it
 * does not know instead of misreading it.
 */
import type { Agreement, Observation, Outcome } from '../experiments/expectations';
import type { FileClaimAnswer } from '../experiments/file-claims';
import type { KernelFiles } from '../experiments/file-triggers';
import type { NotApplicable } from '../experiments/applicable';
import type { CellResult, CellSpec, Verdict } from '../experiments/types';

export const REPORT_SCHEMA = 'mmaplab-report';
/** 2: predictions and observation records apart ('as-recorded', expectation.observed). */
export const REPORT_VERSION = 2;

/** Where and how the run happened. */
export interface ReportEnvironment {
  /** ISO time the report was built. */
  generated: string;
  /** 'qemu': kernels booted in VMs; 'host': the module loaded on this machine. */
  target: 'qemu' | 'host';
  /** mmaplab's package version. */
  mmaplab: string;
  node: string;
  host: { os: string; release: string; arch: string; cpus: number };
  /** `qemu-system-x86_64 --version` first line; null for --target host. */
  qemu: string | null;
}

/** A shard report that `mmaplab merge` joined into this one. */
export interface MergedInput {
  file: string;
  generated: string;
  cells: number;
  kernels: string[];
}

/** One kernel of the run. */
export interface ReportKernel {
  release: string;
  /** '6.1', '6.12'... */
  series: string;
  /** 'tcg', 'kvm' or 'host'. */
  accel: string;
  /** VMs used (0 for --target host), whether booted or restored. */
  boots: number;
  /** Of those, the VMs restored from a saved one (lib/vm/template) instead of booted. */
  restored?: number;
  /** Why VMs booted cold although restoring was on, one line per reason. */
  coldFallbacks?: string[];
  /** Selected cells not run because the kernel was built without an option they need. */
  notApplicable?: NotApplicable[];
}

/**
 * The expectation row a cell was judged against: the prediction (verdict,
 * detail, also; with its reason) and the observation record apart.
 */
export interface ReportExpectation extends Outcome {
  rule: string;
  reason: string;
  also?: Outcome[];
  /** Outcomes earlier runs showed against the prediction, with where and why. */
  observed?: Observation[];
}

/** One cell on one kernel, over all its repetitions. */
export interface ReportCell {
  kernel: string;
  series: string;
  cell: CellSpec;
  /** The verdict of the first run (every run is in `runs`). */
  verdict: Verdict;
  detail: string;
  headline: string;
  expectation: ReportExpectation | null;
  /**
   * 'agrees' when every run's outcome meets the prediction (even if they
   * vary: see `varies`); 'as-recorded' when every run's outcome meets the
   * prediction or its observation record, and one does not meet the
   * prediction; 'flaky' when runs disagree and some outcome is covered by
   * neither; else the runs' common answer ('differs', 'no-expectation').
   */
  agreement: Agreement | 'flaky';
  /** The runs did not all give the same outcome (shown with the distribution). */
  varies: boolean;
  /** Every run, in order (one unless --repeat). */
  runs: CellResult[];
  /** "verdict detail" -> count over the runs. */
  distribution: Record<string, number>;
}

export interface MatrixReport {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  environment: ReportEnvironment & { merged?: MergedInput[] };
  kernels: ReportKernel[];
  cells: ReportCell[];
  /**
   * The file-backed techniques under each trigger, and the conversation's
   * statements answered from them; absent when the run did not measure them.
   */
  files?: ReportFiles;
  /** The run ended before every selected cell ran: why, and what did not run (per kernel). */
  stopped?: ReportStopped;
}

export interface ReportStopped {
  reason: string;
  notRun: string[];
}

export interface ReportFiles {
  kernels: KernelFiles[];
  claims: FileClaimAnswer[];
}
