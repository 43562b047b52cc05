/**
 * What `mmaplab bench` measures, as plain JSON-serialisable data: the
 * contract between the guest-side measurements (lib/bench/measure.ts), the
 * host-side orchestration (lib/cli/bench.ts) and the writers of bench.json
 * and the report's benchmark section.
 *
 * Raw figures only. Every ratio the report shows is computed from two rows
 * of the same kernel in the same run (a method against the anonymous
 * baseline of the same size, fault-around on against off, ...), never stored.
 */
/** The shapes are defined by their schemas (./schema), which check a bench.json read back. */
export type {
  AddonOverheadRow,
  Baseline,
  BenchReport,
  GuestBench,
  GuestBenchOptions,
  HarnessBench,
  KernelBench,
  MapCostRow,
  RestoreBench,
  Stat,
} from './schema';

/** The figures of RestoreBench, in the order the report shows them. */
export const RESTORE_FIGURES = ['templateReadyMs', 'saveMs', 'loadedMs', 'restoreReadyMs', 'hazardCellMs'] as const;
export type RestoreFigure = (typeof RESTORE_FIGURES)[number];

/** 2: HarnessBench.restore. */
export const BENCH_SCHEMA_VERSION = 2;
