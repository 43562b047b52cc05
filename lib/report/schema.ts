/**
 * report.json: the one source of truth of a matrix run. Every other format
 * (JUnit, TAP, Markdown, HTML) is rendered from it, and `mmaplab report DIR`
 * re-renders them from it alone. Versioned: a reader refuses a version it
 * does not know instead of misreading it. The schemas below define the
 * report's types and check a report read back (lib/report/build readReport).
 */
import * as v from 'valibot';
import { FileClaimAnswerSchema, KernelFilesSchema } from '../experiments/files-schema';
import {
  AgreementSchema,
  CellResultSchema,
  CellSpecSchema,
  NotApplicableSchema,
  ObservationSchema,
  OutcomeSchema,
  outcomeEntries,
  VerdictSchema,
} from '../experiments/schema';

export const REPORT_SCHEMA = 'mmaplab-report';
/** 2: predictions and observation records apart ('as-recorded', expectation.observed). */
export const REPORT_VERSION = 2;

/** Where and how the run happened. */
export const ReportEnvironmentSchema = v.object({
  /** ISO time the report was built. */
  generated: v.string(),
  /** 'qemu': kernels booted in VMs; 'host': the module loaded on this machine. */
  target: v.picklist(['qemu', 'host']),
  /** mmaplab's package version. */
  mmaplab: v.string(),
  node: v.string(),
  host: v.object({ os: v.string(), release: v.string(), arch: v.string(), cpus: v.number() }),
  /** `qemu-system-x86_64 --version` first line; null for --target host. */
  qemu: v.nullable(v.string()),
});

/** A shard report that `mmaplab merge` joined into this one. */
export const MergedInputSchema = v.object({
  file: v.string(),
  generated: v.string(),
  cells: v.number(),
  kernels: v.array(v.string()),
});

/** One kernel of the run. */
export const ReportKernelSchema = v.object({
  release: v.string(),
  /** '6.1', '6.12'... */
  series: v.string(),
  /** 'tcg', 'kvm' or 'host'. */
  accel: v.string(),
  /** VMs used (0 for --target host), whether booted or restored. */
  boots: v.number(),
  /** Of those, the VMs restored from a saved one (lib/vm/template) instead of booted. */
  restored: v.optional(v.number()),
  /** Why VMs booted cold although restoring was on, one line per reason. */
  coldFallbacks: v.optional(v.array(v.string())),
  /** Selected cells not run because the kernel was built without an option they need. */
  notApplicable: v.optional(v.array(NotApplicableSchema)),
});

/**
 * The expectation row a cell was judged against: the prediction (verdict,
 * detail, also; with its reason) and the observation record apart.
 */
export const ReportExpectationSchema = v.object({
  ...outcomeEntries,
  rule: v.string(),
  reason: v.string(),
  also: v.optional(v.array(OutcomeSchema)),
  /** Outcomes earlier runs showed against the prediction, with where and why. */
  observed: v.optional(v.array(ObservationSchema)),
});

/** One cell on one kernel, over all its repetitions. */
export const ReportCellSchema = v.object({
  kernel: v.string(),
  series: v.string(),
  cell: CellSpecSchema,
  /** The verdict of the first run (every run is in `runs`). */
  verdict: VerdictSchema,
  detail: v.string(),
  headline: v.string(),
  expectation: v.nullable(ReportExpectationSchema),
  /**
   * 'agrees' when every run's outcome meets the prediction (even if they
   * vary: see `varies`); 'as-recorded' when every run's outcome meets the
   * prediction or its observation record, and one does not meet the
   * prediction; 'flaky' when runs disagree and some outcome is covered by
   * neither; else the runs' common answer ('differs', 'no-expectation').
   */
  agreement: v.union([AgreementSchema, v.literal('flaky')]),
  /** The runs did not all give the same outcome (shown with the distribution). */
  varies: v.boolean(),
  /** Every run, in order (one unless --repeat). */
  runs: v.array(CellResultSchema),
  /** "verdict detail" -> count over the runs. */
  distribution: v.record(v.string(), v.number()),
});

export const ReportStoppedSchema = v.object({
  reason: v.string(),
  notRun: v.array(v.string()),
});

export const ReportFilesSchema = v.object({
  kernels: v.array(KernelFilesSchema),
  claims: v.array(FileClaimAnswerSchema),
});

export const MatrixReportSchema = v.object({
  schema: v.literal(REPORT_SCHEMA),
  version: v.literal(REPORT_VERSION),
  environment: v.object({ ...ReportEnvironmentSchema.entries, merged: v.optional(v.array(MergedInputSchema)) }),
  kernels: v.array(ReportKernelSchema),
  cells: v.array(ReportCellSchema),
  /**
   * The file-backed methods under each trigger, and the conversation's
   * statements answered from them; absent when the run did not measure them.
   */
  files: v.optional(ReportFilesSchema),
  /** The run ended before every selected cell ran: why, and what did not run (per kernel). */
  stopped: v.optional(ReportStoppedSchema),
});

export type ReportEnvironment = v.InferOutput<typeof ReportEnvironmentSchema>;
export type MergedInput = v.InferOutput<typeof MergedInputSchema>;
export type ReportKernel = v.InferOutput<typeof ReportKernelSchema>;
export type ReportExpectation = v.InferOutput<typeof ReportExpectationSchema>;
export type ReportCell = v.InferOutput<typeof ReportCellSchema>;
export type ReportStopped = v.InferOutput<typeof ReportStoppedSchema>;
export type ReportFiles = v.InferOutput<typeof ReportFilesSchema>;
export type MatrixReport = v.InferOutput<typeof MatrixReportSchema>;
