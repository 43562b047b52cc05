/**
 * The file-backed methods' measurements (./file-triggers) and the
 * statements answered from them (./file-claims), as the guest's events and
 * report.json carry them. The schemas define the types; the two modules
 * re-export them. Methods, triggers and paths are catalogue names
 * (catalogueName): a newer catalogue's are read as they are.
 */
import * as v from 'valibot';
import { PATHS, type PathName } from '../device/layout';
import { catalogueName } from '../util/schema';
import { MEASURED_FILE_METHODS, TRIGGERS } from './file-triggers';

/** Where a page came from: the module's paths, or the mapping itself (the control). */
const ARRIVAL_PATHS = [...(Object.keys(PATHS) as PathName[]), 'direct' as const];

export const TriggerResultSchema = v.object({
  method: catalogueName(MEASURED_FILE_METHODS, 'a file method name'),
  trigger: catalogueName(TRIGGERS, 'a trigger name'),
  pages: v.number(),
  /** Pages whose store copy arrived after the write (all of them for the control). */
  arrived: v.number(),
  /** ms from the end of the writes to the first and the last arrival; null if none arrived. */
  firstMs: v.nullable(v.number()),
  lastMs: v.nullable(v.number()),
  /** Arrivals per path (the control's are 'direct': the mapping is the store). */
  paths: v.record(catalogueName(ARRIVAL_PATHS, 'a path name'), v.number()),
  /** Every arrived page holds exactly what was written. */
  intact: v.boolean(),
  /** read()/write() calls on the device during the cell (the mapping must not need them). */
  readWriteCalls: v.number(),
  /** Counter deltas over the cell (page cache and deferred I/O). */
  batches: v.number(),
  mkwriteFaults: v.number(),
  pagesWritten: v.number(),
  /** What else was seen (pressure: how the writer ended, the cgroup's memory events), or null. */
  note: v.nullable(v.string()),
  /**
   * When the trigger ran, in ms after the writes (start and end), where the
   * measurement knows it (fsync-other-fd: the other process's fsync).
   */
  triggerMs: v.optional(v.object({ start: v.number(), end: v.number() })),
  /**
   * Why the cell could not be measured (the trigger itself failed, or fired
   * only after pages had arrived another way: "not measured: ..."), or null.
   */
  error: v.nullable(v.string()),
});

/** One kernel's measurements. */
export const KernelFilesSchema = v.object({
  kernel: v.string(),
  results: v.array(TriggerResultSchema),
});

export const FileClaimVerdictSchema = v.picklist(['supports', 'contradicts', 'mixed', 'untested']);

export const FileClaimSchema = v.object({
  id: v.string(),
  /** The statement, paraphrased. */
  claim: v.string(),
  /** What is measured to answer it. */
  test: v.string(),
});

export const FileClaimAnswerSchema = v.object({
  claim: FileClaimSchema,
  kernel: v.string(),
  verdict: FileClaimVerdictSchema,
  /** The measurements behind the verdict, one phrase each. */
  evidence: v.array(v.string()),
});

export type TriggerResult = v.InferOutput<typeof TriggerResultSchema>;
export type KernelFiles = v.InferOutput<typeof KernelFilesSchema>;
export type FileClaimVerdict = v.InferOutput<typeof FileClaimVerdictSchema>;
export type FileClaim = v.InferOutput<typeof FileClaimSchema>;
export type FileClaimAnswer = v.InferOutput<typeof FileClaimAnswerSchema>;
