/**
 * Cells and their results as they travel as JSON: in job.json to the guest,
 * in its events back, and in report.json. The schemas are the definition;
 * ./types re-exports the types inferred from them, so code that only needs
 * the types never loads valibot (the guest's probe processes import ./types).
 *
 * Reports of earlier versions are read with them too: a field added since
 * report version 2 is optional here, as it is absent from those reports.
 * The catalogue's names (allocators, methods, scenarios, uses, probe
 * steps) are any string: see catalogueName.
 */
import * as v from 'valibot';
import { catalogueName } from '../util/schema';
import { CELL_ALLOCS, CELL_METHODS, PROBE_STEPS, SCENARIOS } from './types';
import { USES } from './uses';

export const VerdictSchema = v.picklist([
  'ok',
  'refused',
  'wrong-data',
  'user-signal',
  'kernel-complaint',
  'oops',
  'panic',
  'hang',
  /** mmaplab itself failed (not a kernel result); the cell must be re-run. */
  'error',
]);

export const CacheNameSchema = v.picklist(['wb', 'wc', 'uc']);

/**
 * Kernel command-line profile a cell needs. 'poison' boots with
 * page_poison=1 init_on_free=1 slub_debug=FZPU (and KFENCE sampling where
 * built in) so memory freed under a mapping reads back as poison instead of
 * (by luck) the old pattern.
 */
export const BootProfileSchema = v.picklist(['default', 'poison']);

export const ProbeStepSchema = catalogueName(PROBE_STEPS, 'a probe step name');

export const CellSpecSchema = v.object({
  /** Stable identifier, e.g. "vmalloc_user/remap_vmalloc_range/64K/basic". */
  id: v.string(),
  alloc: catalogueName(CELL_ALLOCS, 'an allocator name'),
  method: catalogueName(CELL_METHODS, 'a method name'),
  size: v.number(),
  scenario: catalogueName(SCENARIOS, 'a scenario name'),
  cache: CacheNameSchema,
  faultAround: v.boolean(),
  profile: BootProfileSchema,
  /** Needs the module's allow_hazards=1; reproduces a documented failure. */
  hazard: v.boolean(),
  /** Scenario 'use': what the program does with the mapping (absent otherwise). */
  use: v.optional(catalogueName(USES, 'a use name')),
  /**
   * The buffer's pages marked reserved (SetPageReserved), as old drivers
   * do: 'cleared' again before the free, or 'kept' (a hazard). Absent: not.
   */
  reserved: v.optional(v.picklist(['cleared', 'kept'])),
  /**
   * pci_bar mapped by a remap_pfn_range variant, without the module's
   * refusal to split the VMA (a hazard). Absent: the refusal is there.
   */
  splittable: v.optional(v.literal(true)),
  /**
   * 'dmabuf': the buffer is exported as a dma-buf and mapped through the
   * dma-buf's descriptor (its CPU access bracketed with DMA_BUF_IOCTL_SYNC),
   * as userspace of a GPU or camera driver maps it. Absent: through the
   * device's own descriptor.
   */
  via: v.optional(v.literal('dmabuf')),
  /** One line for people. */
  title: v.string(),
});

/** Where the data disagreed: byte offset in the buffer and the two words. */
export const MismatchSchema = v.object({
  offset: v.number(),
  expected: v.number(),
  found: v.number(),
});

/** The module's per-session counters (STATS), as numbers. */
export const SessionStatsSchema = v.object({
  faults: v.number(),
  mapPagesCalls: v.number(),
  pagesMapped: v.number(),
  vmaOpens: v.number(),
  vmaCloses: v.number(),
});

/** DMA_BUF_IOCTL_SYNC as made and as the exporter saw it. */
export const DmaBufObservationSchema = v.object({
  begun: v.number(),
  ended: v.number(),
  seenBegin: v.number(),
  seenEnd: v.number(),
});

/**
 * The device's view of the buffer, and how it was had ('via'). Reports
 * written before the device did DMA name the BAR's host-side file instead
 * (`file`): they are read as they are.
 */
export const DeviceSideSchema = v.union([
  v.variant('checked', [
    v.object({ via: v.string(), checked: v.literal(true), mismatch: v.nullable(MismatchSchema) }),
    v.object({ via: v.string(), checked: v.literal(false), why: v.string() }),
  ]),
  v.variant('checked', [
    v.object({ file: v.string(), checked: v.literal(true), mismatch: v.nullable(MismatchSchema) }),
    v.object({ file: v.string(), checked: v.literal(false), why: v.string() }),
  ]),
]);

/** What a use found (scenario 'use'). */
export const UseObservationSchema = v.object({
  outcome: v.string(),
  facts: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
});

/** What the userspace probe saw while running one cell. */
export const ProbeObservationSchema = v.object({
  /** Steps completed, in order. */
  steps: v.array(ProbeStepSchema),
  /**
   * A step the kernel refused, with its errno name and the module's own
   * account of why (LAST_ERROR), when it has one.
   */
  refused: v.nullable(
    v.object({
      step: ProbeStepSchema,
      code: v.string(),
      message: v.string(),
      reason: v.optional(v.string()),
      text: v.optional(v.string()),
    }),
  ),
  /** Kernel wrote the pattern, userspace read it through the mapping. */
  kernelToUser: v.nullable(MismatchSchema),
  /** Userspace wrote through the mapping, the kernel checked it. */
  userToKernel: v.nullable(MismatchSchema),
  /** The probe process (or its forked child) died from this signal (SIGBUS, SIGSEGV, SIGKILL...). */
  signal: v.nullable(v.string()),
  /** The step the signal struck in, and the page it was accessing (null: unknown). */
  signalStep: v.nullable(ProbeStepSchema),
  signalPage: v.nullable(v.number()),
  /**
   * A scenario's own data check failed: what was checked ('fork-parent',
   * 'private-leak', 'private-copy', 'after-dontneed', 'after-partial-munmap',
   * 'placed-child', 'short-end') and where.
   */
  view: v.nullable(v.object({ what: v.string(), mismatch: MismatchSchema })),
  /** Probe failure that is not a kernel answer (a bug in mmaplab itself). */
  error: v.nullable(v.string()),
  /**
   * The CPU whose per-CPU page lists were drained between munmap and close
   * (null: none could be, so a double free may have gone unnoticed).
   */
  drainedCpu: v.nullable(v.number()),
  /** STATS read before munmap (null if the cell never got that far). */
  stats: v.nullable(SessionStatsSchema),
  /** free-while-mapped: what the mapping showed after the driver freed it. */
  afterFree: v.nullable(MismatchSchema),
  /**
   * Scenario 'use': the use's own finding when it has one to report (the
   * verdict's detail when ok: 'resident-none', 'not-locked'...; '' when
   * there is nothing beyond the data), and the facts behind it. Null
   * before the use ran (and absent from older reports).
   */
  use: v.optional(v.nullable(UseObservationSchema)),
  /**
   * From INFO after CONFIGURE: whether the buffer's pfns happened to be
   * consecutive (explains a first-pfn remap that looks right). Null if unknown.
   */
  pfnsConsecutive: v.nullable(v.boolean()),
  /**
   * What the device saw of what userspace wrote (lib/runner/device-side):
   * pci_bar cells read the BAR's host-side backing file; dma_device basic
   * cells have the device read the buffer by DMA. Absent for other cells
   * and in older reports.
   */
  deviceSide: v.optional(DeviceSideSchema),
  /**
   * Cells mapped through a dma-buf: the DMA_BUF_IOCTL_SYNC calls the probe
   * made, and what the module counted of them (DMABUF QUERY) before the
   * descriptors were closed. Absent for other cells and in older reports.
   */
  dmabuf: v.optional(DmaBufObservationSchema),
});

/** A kernel-log finding as recorded in a cell's evidence. */
export const EvidenceFindingSchema = v.object({
  kind: v.string(),
  severity: v.picklist(['complaint', 'oops', 'panic']),
  line: v.string(),
  reason: v.optional(v.string()),
});

/** A thread of a probe that missed its deadline, as /proc showed it before the kill. */
export const StuckTaskSchema = v.object({
  tid: v.number(),
  comm: v.string(),
  /** The state letter of /proc/PID/task/TID/stat: R, S, D... */
  state: v.string(),
  /** /proc/.../wchan: the kernel function it waits in (null: none). */
  wchan: v.nullable(v.string()),
  /** /proc/.../syscall: the system call number and arguments, or "running". */
  syscall: v.nullable(v.string()),
  /** /proc/.../stack frames, innermost first (null: not readable). */
  stack: v.nullable(v.array(v.string())),
});

export const CellEvidenceSchema = v.object({
  /** The cell's /dev/kmsg window (messages only). */
  kmsg: v.array(v.string()),
  /**
   * Records of the window the ring buffer overwrote before they were read
   * (absent: none). A window that lost records cannot show the cell was clean.
   */
  kmsgLost: v.optional(v.number()),
  /**
   * A probe that missed its deadline: where its threads were (in the
   * kernel, at which function; or running) and the step and page it had
   * reached. Absent when the probe answered.
   */
  stuck: v.optional(
    v.object({
      tasks: v.array(StuckTaskSchema),
      where: v.string(),
      step: v.nullable(ProbeStepSchema),
      page: v.nullable(v.number()),
    }),
  ),
  findings: v.array(EvidenceFindingSchema),
  /** Taint letters gained during the cell (mmaplab's own O/E masked). */
  taintGained: v.array(v.string()),
  observation: v.nullable(ProbeObservationSchema),
  /** Last console lines when the VM died during the cell. */
  console: v.optional(v.array(v.string())),
});

/**
 * A cell's time by phase, ms: `pin`, the kernel log's position and the
 * taint read and the probe pinned to the CPU it drains; `probe`,
 * the probe's own steps (device, mapping, checks, its CPU offline and
 * online); `retire`, a hazard probe's exit; `drain`, the per-CPU page lists
 * drained again (CPU offline and online); `judge`, taint, the cell's kernel
 * log, the findings and the verdict.
 */
export const CellPhasesSchema = v.object({
  pin: v.number(),
  probe: v.number(),
  retire: v.number(),
  drain: v.number(),
  judge: v.number(),
});

export const CellResultSchema = v.object({
  kernel: v.string(),
  cell: CellSpecSchema,
  verdict: VerdictSchema,
  /** Finer classification: the headline finding kind, errno, signal... */
  detail: v.string(),
  /** The one line that best explains the verdict. */
  headline: v.string(),
  evidence: CellEvidenceSchema,
  durationMs: v.number(),
  /** Where durationMs went, in the guest (absent for a cell judged from the console). */
  phasesMs: v.optional(CellPhasesSchema),
});

/** The fields of an outcome, for the schemas that extend it. */
export const outcomeEntries = {
  verdict: VerdictSchema,
  /** The detail expected with the verdict: errno for refusals, finding kind for complaints. */
  detail: v.optional(v.string()),
};

export const OutcomeSchema = v.object(outcomeEntries);

/** An outcome seen in earlier runs that the prediction does not cover. */
export const ObservationSchema = v.object({
  ...outcomeEntries,
  /** Kernel series it was seen on ("6.12"), or "*" for every series run so far. */
  series: v.string(),
  /** Where it was seen and what explains it. */
  note: v.string(),
});

/**
 * How an outcome stands against its cell's expectation: 'agrees' when it
 * meets the prediction; 'as-recorded' when it contradicts the prediction but
 * matches the observation record (a known surprise, counted apart);
 * 'differs' otherwise; 'no-expectation' when no rule covers the cell.
 */
export const AgreementSchema = v.picklist(['agrees', 'as-recorded', 'differs', 'no-expectation']);

/** Cells left out on one kernel for want of one option. */
export const NotApplicableSchema = v.object({
  /** The option the kernel was built without ("CONFIG_TRANSPARENT_HUGEPAGE"). */
  requires: v.string(),
  /** The uses that need it, in cell order. */
  uses: v.array(v.string()),
  /** The ids of the selected cells left out for it. */
  cells: v.array(v.string()),
});

export type Verdict = v.InferOutput<typeof VerdictSchema>;
export type CacheName = v.InferOutput<typeof CacheNameSchema>;
export type BootProfile = v.InferOutput<typeof BootProfileSchema>;
export type CellSpec = v.InferOutput<typeof CellSpecSchema>;
export type Mismatch = v.InferOutput<typeof MismatchSchema>;
export type SessionStats = v.InferOutput<typeof SessionStatsSchema>;
export type DmaBufObservation = v.InferOutput<typeof DmaBufObservationSchema>;
export type DeviceSide = v.InferOutput<typeof DeviceSideSchema>;
export type UseObservation = v.InferOutput<typeof UseObservationSchema>;
export type ProbeObservation = v.InferOutput<typeof ProbeObservationSchema>;
export type EvidenceFinding = v.InferOutput<typeof EvidenceFindingSchema>;
export type StuckTask = v.InferOutput<typeof StuckTaskSchema>;
export type CellEvidence = v.InferOutput<typeof CellEvidenceSchema>;
export type CellPhases = v.InferOutput<typeof CellPhasesSchema>;
export type CellResult = v.InferOutput<typeof CellResultSchema>;
export type Outcome = v.InferOutput<typeof OutcomeSchema>;
export type Observation = v.InferOutput<typeof ObservationSchema>;
export type Agreement = v.InferOutput<typeof AgreementSchema>;
export type NotApplicable = v.InferOutput<typeof NotApplicableSchema>;
