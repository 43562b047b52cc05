/**
 * `mmaplab check`'s data as JSON: the job's target and scenarios (in
 * job.json), its results (in the guest's events), the order and progress
 * files of the process that runs the uses (./sink). The schemas define the
 * types (./types, ./sink, ./setup and ./hook re-export them).
 */
import * as v from 'valibot';
import { u32 } from '../util/schema';
import { CHECK_SCENARIOS, CHECK_USES, CHECK_VERDICTS } from './types';

/** Bytes in hex, as a setup step holds them once read (lower case, at least one byte). */
const hexBytes = v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{2})+$/, 'bytes in lower-case hex, at least one byte'));

/** A step of a setup file once read (./setup): an ioctl (arg null: the ioctl gets 0) or a write. */
export const SetupStepSchema = v.union([v.strictObject({ ioctl: u32, arg: v.nullable(hexBytes) }), v.strictObject({ write: hexBytes })]);

/** A setup hook (./hook) as the guest gets it. */
export const SetupHookSchema = v.object({
  /** The file as given, for messages. */
  file: v.string(),
  /** CommonJS JavaScript. */
  source: v.string(),
});

/** What the guest needs to know about the user's driver. */
export const CheckTargetSchema = v.object({
  /** The device node to open, e.g. /dev/mmap_good. */
  device: v.string(),
  /** Bytes of the driver's buffer that a mapping may cover (page multiple). */
  size: v.number(),
  /** The module's name as rmmod knows it (the .ko's base name, '-' as '_'). */
  moduleName: v.string(),
  /** Run on every descriptor a scenario opens, before it maps (--setup FILE.json). */
  setup: v.array(SetupStepSchema),
  /** Then this hook (--setup FILE.js or FILE.ts), or null. */
  hook: v.nullable(SetupHookSchema),
  /**
   * A driver that registers a char device region without making a node:
   * the name in /proc/devices to make `device` from (null: the one new
   * entry, if the node does not appear by itself), and its minor.
   */
  chrdev: v.nullable(v.string()),
  minor: v.number(),
});

/** A use of the matrix's run on the user's mapping ('use:NAME'). */
export const CheckUseSchema = v.picklist(CHECK_USES);
/** A scenario or a use: one row of the check's results. */
export const CheckItemSchema = v.picklist([...CHECK_SCENARIOS, ...CHECK_USES]);

/** One kernel-log finding as the report carries it. */
export const CheckFindingSchema = v.object({
  kind: v.string(),
  line: v.string(),
  reason: v.optional(v.string()),
});

export const CheckResultSchema = v.object({
  /** The scenario or use (`use:NAME`) this row is for. */
  scenario: CheckItemSchema,
  verdict: v.picklist(CHECK_VERDICTS),
  /** What was seen: the errno, the signal, the first bad word, the complaint. */
  detail: v.string(),
  findings: v.array(CheckFindingSchema),
  /** Taint flags the scenario added (the module's own O and E left out). */
  taintGained: v.array(v.string()),
  /** The kernel log of the scenario's window, when it has a finding. */
  kmsg: v.array(v.string()),
  durationMs: v.number(),
});

/** The job the host gives the guest agent: these scenarios and uses, in this order, in one VM. */
export const CheckJobOptionsSchema = v.object({
  target: CheckTargetSchema,
  scenarios: v.array(CheckItemSchema),
});

/** What the uses' process passes on its command line (a file of it). */
export const UsesOrderSchema = v.object({
  target: CheckTargetSchema,
  uses: v.array(CheckUseSchema),
  eventsFile: v.string(),
  progressFile: v.string(),
  marks: v.boolean(),
});

/** What the uses' process has done, rewritten before and after each use. */
export const UsesProgressSchema = v.object({
  /** The use running now, null between uses. */
  inFlight: v.nullable(CheckUseSchema),
  /** Where the kernel-log window of the use in flight (or of the next one) begins. */
  since: v.number(),
  /** The taint when that window began. */
  taint: v.number(),
  /** The uses reported so far. */
  done: v.array(CheckUseSchema),
  /** A use the kernel complained in ended the run: nothing more in this VM. */
  stopped: v.boolean(),
});

export type SetupStep = v.InferOutput<typeof SetupStepSchema>;
export type SetupHook = v.InferOutput<typeof SetupHookSchema>;
export type CheckTarget = v.InferOutput<typeof CheckTargetSchema>;
export type CheckFinding = v.InferOutput<typeof CheckFindingSchema>;
export type CheckResult = v.InferOutput<typeof CheckResultSchema>;
export type CheckJobOptions = v.InferOutput<typeof CheckJobOptionsSchema>;
export type UsesOrder = v.InferOutput<typeof UsesOrderSchema>;
export type UsesProgress = v.InferOutput<typeof UsesProgressSchema>;
