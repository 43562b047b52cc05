/**
 * bench.json's schema, from which its types (./types) come, and reading a
 * bench.json back: the writers and `mmaplab report` trust a BenchReport's
 * shape (a missing median would print NaN, a wrong method name would
 * pair the wrong rows), so a file is checked before use. Every error is
 * MmaplabError 'EBENCHFORMAT' naming the first bad place as a path
 * ('kernels[1].mapCost[3].touchReadNs.median') with what was expected and
 * what was found; `details.path` carries the same path for programs.
 *
 * Unlike report.json, bench.json names allocators and methods of this
 * version only: its rows are paired by them.
 */
import * as fs from 'node:fs';
import * as v from 'valibot';
import { CELL_ALLOCS, CELL_METHODS } from '../experiments/types';
import { MmaplabError } from '../util/errors';
import { renameLegacyKeys } from '../util/legacy-keys';
import { checkShape, count, describeValue, parseJson, positive } from '../util/schema';
import { BENCH_SCHEMA_VERSION, RESTORE_FIGURES } from './types';

const SOURCE = 'bench report';

/** A figure measured `n` times: its median, smallest and largest value. */
export const StatSchema = v.pipe(
  v.object({
    median: v.pipe(v.number(), v.finite()),
    min: v.pipe(v.number(), v.finite()),
    max: v.pipe(v.number(), v.finite()),
    n: positive,
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const { min, median, max } = dataset.value;
    if (!(min <= median && median <= max)) {
      addIssue({ expected: 'min ≤ median ≤ max', received: `min ${min}, median ${median}, max ${max}` });
    }
  }),
);

/** A figure that counts (faults, calls): a number ≥ 0 (a median over repetitions may be a half). */
const tally = v.pipe(v.number(), v.finite(), v.minValue(0));

/** The baselines: an anonymous shared mapping, faulted lazily or with MAP_POPULATE. */
export const BaselineSchema = v.picklist(['anon', 'anon_populate']);

const rowFigures = {
  /** Bytes mapped (the whole buffer). */
  size: positive,
  pages: positive,
  cache: v.picklist(['wb', 'wc', 'uc']),
  faultAround: v.boolean(),
  /**
   * Set when the configuration could not be measured: CONFIGURE or mmap was
   * refused (e.g. 'EINVAL: vm_insert_page refused a slab page'). The
   * figures below are then absent.
   */
  refused: v.optional(v.string()),
  /** mmap(2) of the whole buffer, ns. */
  mmapNs: v.optional(StatSchema),
  /** First touch of every page by reading, on a fresh mapping, ns (whole mapping). */
  touchReadNs: v.optional(StatSchema),
  /** First touch of every page by writing, on a fresh mapping, ns (whole mapping). */
  touchWriteNs: v.optional(StatSchema),
  /** munmap(2) of the whole, touched mapping, ns. */
  munmapNs: v.optional(StatSchema),
  /** Per mapping, median over repetitions: the module's ->fault calls (0 for baselines). */
  faultsRead: v.optional(tally),
  faultsWrite: v.optional(tally),
  /** ->map_pages calls per read-touched mapping (fault-around). */
  mapPagesCallsRead: v.optional(tally),
  /** Minor page faults the process took per mapping (getrusage), read and write touch. */
  minfltRead: v.optional(tally),
  minfltWrite: v.optional(tally),
  /** Sequential read / write of the whole mapping after fault-in, bytes per second. */
  readBytesPerSec: v.optional(StatSchema),
  writeBytesPerSec: v.optional(StatSchema),
};

const BASELINES = BaselineSchema.options;

/**
 * One mapping configuration measured inside the guest. For a baseline row,
 * `alloc` is null and `method` names the baseline.
 */
export const MapCostRowSchema = v.pipe(
  v.object({
    alloc: v.nullable(v.picklist(CELL_ALLOCS)),
    method: v.picklist([...CELL_METHODS, ...BASELINES]),
    ...rowFigures,
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const row = dataset.value;
    const baseline = (BASELINES as readonly string[]).includes(row.method);
    if (baseline === (row.alloc === null)) return;
    addIssue({
      expected: row.alloc === null ? 'a baseline, "anon" or "anon_populate" (alloc is null)' : `a method of ${row.alloc}, not a baseline`,
      received: describeValue(row.method),
      path: [{ type: 'object', origin: 'value', input: row, key: 'method', value: row.method }],
    });
  }),
);

/**
 * The same cycle (map the device buffer, write-touch every page, unmap)
 * driven from TypeScript through the addon and from a small C program, in
 * the same VM.
 */
export const AddonOverheadRowSchema = v.object({
  alloc: v.picklist(CELL_ALLOCS),
  method: v.picklist(CELL_METHODS),
  size: positive,
  pages: positive,
  /** One whole cycle, ns. */
  typescriptNs: StatSchema,
  cNs: StatSchema,
});

/** Options for the guest-side part (part of a 'bench' job). */
export const GuestBenchOptionsSchema = v.object({
  /** Buffer sizes to try for every configuration (refused where the allocator cannot). */
  sizes: v.array(positive),
  /** Repetitions of every measurement. */
  reps: positive,
  /** Also measure write-combining and uncached mappings of the pfn methods. */
  cacheModes: v.boolean(),
  /** Path of the compiled C cycle program (addon overhead); null skips it. */
  cProgram: v.nullable(v.string()),
});

const guestBenchEntries = {
  kernel: v.string(),
  mapCost: v.array(MapCostRowSchema),
  addonOverhead: v.array(AddonOverheadRowSchema),
};

/** What one guest measured: posted as one 'bench-result' event. */
export const GuestBenchSchema = v.object(guestBenchEntries);

/**
 * The restore path (lib/vm/template.ts) for one kernel: each repetition
 * saves a template of its own and runs one hazard cell in a copy restored
 * from it. Each figure is null when no repetition measured it; `failures`
 * says why, one line per repetition that fell short. The cold boot it is
 * compared with is HarnessBench.agentReadyVmlinuxMs (no boot of its own).
 */
export const RestoreBenchSchema = v.object({
  /** QEMU start to the template's agent waiting to be saved, ms (a cold boot of the template). */
  templateReadyMs: v.nullable(StatSchema),
  /** The save itself: the template's agent waiting to its state written (stop, migrate, stream), ms. */
  saveMs: v.nullable(StatSchema),
  /** A restored copy: QEMU start to its saved state loaded, ms. */
  loadedMs: v.nullable(StatSchema),
  /** A restored copy: QEMU start to "guest agent ready", ms. */
  restoreReadyMs: v.nullable(StatSchema),
  /** A restored copy running `hazardCell`: QEMU start to the cell's verdict on the console, ms. */
  hazardCellMs: v.nullable(StatSchema),
  /** The catalogue id of the hazard cell timed. */
  hazardCell: v.string(),
  /** Why repetitions gave fewer figures than asked for ('run 2/5: saving failed: ...'); empty when none did. */
  failures: v.array(v.string()),
}) satisfies v.GenericSchema<unknown, Record<(typeof RESTORE_FIGURES)[number], unknown>>;

/** Harness speed for one kernel, measured from the host. */
export const HarnessBenchSchema = v.object({
  /** QEMU start to "guest agent ready", ms, booting the extracted ELF vmlinux. */
  agentReadyVmlinuxMs: StatSchema,
  /** The same, booting Debian's compressed bzImage. */
  agentReadyBzimageMs: StatSchema,
  /** QEMU start to the first cell's result, vmlinux path. */
  firstCellMs: StatSchema,
  /** Time per cell in a VM that is already up (basic cells, one boot). */
  perCellMs: StatSchema,
  /** Saving a VM and starting copies of it instead of booting. */
  restore: RestoreBenchSchema,
});

export const KernelBenchSchema = v.object({
  ...guestBenchEntries,
  /** Null when the run skipped the harness part. */
  harness: v.nullable(HarnessBenchSchema),
});

export const BenchReportSchema = v.object({
  schema: v.literal('mmaplab-bench'),
  version: v.literal(BENCH_SCHEMA_VERSION),
  createdAt: v.string(),
  /** Where it ran: absolute times are emulation times under TCG; read the ratios. */
  environment: v.object({
    accel: v.picklist(['tcg', 'kvm', 'host']),
    hostCpus: positive,
    hostModel: v.string(),
    guestCpus: v.nullable(tally),
    guestMemoryMb: v.nullable(tally),
  }),
  options: v.object({ ...GuestBenchOptionsSchema.entries, bootRuns: count, cellsPerVm: count }),
  kernels: v.array(KernelBenchSchema),
  /** Wall time of the default matrix on all kernels, ms; null unless the run measured it. */
  matrixWallMs: v.nullable(tally),
});

export type Stat = v.InferOutput<typeof StatSchema>;
export type Baseline = v.InferOutput<typeof BaselineSchema>;
export type MapCostRow = v.InferOutput<typeof MapCostRowSchema>;
export type AddonOverheadRow = v.InferOutput<typeof AddonOverheadRowSchema>;
export type GuestBenchOptions = v.InferOutput<typeof GuestBenchOptionsSchema>;
export type GuestBench = v.InferOutput<typeof GuestBenchSchema>;
export type RestoreBench = v.InferOutput<typeof RestoreBenchSchema>;
export type HarnessBench = v.InferOutput<typeof HarnessBenchSchema>;
export type KernelBench = v.InferOutput<typeof KernelBenchSchema>;
export type BenchReport = v.InferOutput<typeof BenchReportSchema>;

/**
 * Checks a parsed bench.json; returns it typed, or throws MmaplabError
 * 'EBENCHFORMAT' naming the bad path ('<source>: <path>: expected ..., got ...').
 */
export function validateBenchReport(json: unknown, source: string = SOURCE): BenchReport {
  return checkShape(BenchReportSchema, json, source, 'EBENCHFORMAT');
}

/** Reads and checks a bench.json: 'EBENCHREAD' when it cannot be read, 'EBENCHFORMAT' when it is not valid. */
export function readBenchReport(file: string): BenchReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MmaplabError('EBENCHREAD', `cannot read ${file}: ${(err as Error).message}`, { file });
  }
  return checkShape(BenchReportSchema, renameLegacyKeys(parseJson(text, file, 'EBENCHFORMAT', { file })), file, 'EBENCHFORMAT', { file });
}
