/**
 * The fuzzer's job options (in job.json) and its result (in the guest's
 * events) as JSON: their schemas, from which ./types takes the types.
 */
import * as v from 'valibot';
import { FuzzOpListSchema } from './ops-schema';

export const FuzzJobOptionsSchema = v.object({
  /** The generator's seed (a label only when `replay` is given). */
  seed: v.number(),
  /** Stop after this many operations (null: only `seconds` limits the run). */
  ops: v.nullable(v.number()),
  /** Stop after this many seconds (null: only `ops` limits the run). */
  seconds: v.nullable(v.number()),
  /** Read the kernel log and the taint every this many operations (and at the end). */
  checkEvery: v.number(),
  /** Cycle the worker's CPU offline and online before each check, so pages freed twice are caught now. */
  drain: v.boolean(),
  /** Run exactly these operations instead of the generated ones (minimisation replays). */
  replay: v.nullable(FuzzOpListSchema),
  /** No progress for this long (ms) is a hang: the worker is stuck in the kernel. */
  stallMs: v.number(),
});

/** What made a run stop early. */
export const FuzzComplaintKindSchema = v.picklist([
  /** The kernel log had a finding, or the kernel gained taint (O and E aside). */
  'kernel',
  /** The module accepted what it must refuse with allow_hazards=0 (a hazard configuration, FREE_WHILE_MAPPED). */
  'violation',
  /** The worker process died (a kernel oops kills the task in its system call). */
  'died',
  /** The worker stopped making progress (stuck in the kernel). */
  'hang',
]);

export const FuzzComplaintSchema = v.object({
  kind: FuzzComplaintKindSchema,
  /** Index of the last operation that ran before it was seen (-1: before the first). */
  atOp: v.number(),
  /** First operation of the window it was seen in (the one after the previous clean check). */
  sinceOp: v.number(),
  /** Seen at the end of the run (closing everything, the worker's exit), after the last operation. */
  atEnd: v.boolean(),
  /** One line for people. */
  headline: v.string(),
  /** Kinds of the kernel log findings (lib/kmsg), in order, for comparing replays. */
  kinds: v.array(v.string()),
  /** The findings, one line each (describeFinding). */
  findings: v.array(v.string()),
  /** The window's kernel log lines (at most MAX_KMSG_LINES). */
  kmsg: v.array(v.string()),
  /** Taint letters gained (O and E masked). */
  taintGained: v.array(v.string()),
});

export const FuzzResultSchema = v.object({
  seed: v.number(),
  replay: v.boolean(),
  /** Operations run (the one a complaint stopped at included). */
  opsRun: v.number(),
  elapsedMs: v.number(),
  /** Outcome ('ok', 'EINVAL', 'SIGBUS', 'skip', ...) -> how many operations had it. */
  counts: v.record(v.string(), v.number()),
  complaint: v.nullable(FuzzComplaintSchema),
  /** Replays only: each operation's outcome, in order ('EINVAL: reason' when the module gave one). */
  outcomes: v.nullable(v.array(v.string())),
  /** The fuzzer itself failed (not a kernel result). */
  error: v.nullable(v.string()),
});

/** A few /proc/meminfo figures (KiB), to watch a long run for leaks and memory pressure. */
export const GuestMemorySchema = v.object({
  availableKb: v.number(),
  slabKb: v.number(),
  vmallocKb: v.number(),
  pageCacheKb: v.number(),
});

export type FuzzJobOptions = v.InferOutput<typeof FuzzJobOptionsSchema>;
export type FuzzComplaintKind = v.InferOutput<typeof FuzzComplaintKindSchema>;
export type FuzzComplaint = v.InferOutput<typeof FuzzComplaintSchema>;
export type FuzzResult = v.InferOutput<typeof FuzzResultSchema>;
export type GuestMemory = v.InferOutput<typeof GuestMemorySchema>;
