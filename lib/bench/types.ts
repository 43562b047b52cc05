/**
 * What `mmaplab bench` measures, as plain JSON-serialisable data: the
 * contract between the guest-side measurements (lib/bench/measure.ts), the
 * host-side orchestration (lib/cli/bench.ts) and the writers of bench.json
 * and the report's benchmark section.
 *
 * Raw figures only. Every ratio the report shows is computed from two rows
 * of the same kernel in the same run (a technique against the anonymous
 * baseline of the same size, fault-around on against off, ...), never stored.
 */
import type { AllocName, CacheName, MethodName } from '../experiments/types';

/** A figure measured `n` times: its median, smallest and largest value. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** The baselines: an anonymous shared mapping, faulted lazily or with MAP_POPULATE. */
export type Baseline = 'anon' | 'anon_populate';

/**
 * One mapping configuration measured inside the guest. For a baseline row,
 * `alloc` is null and `technique` names the baseline.
 */
export interface MapCostRow {
  alloc: AllocName | null;
  technique: MethodName | Baseline;
  /** Bytes mapped (the whole buffer). */
  size: number;
  pages: number;
  cache: CacheName;
  faultAround: boolean;
  /**
   * Set when the configuration could not be measured: CONFIGURE or mmap was
   * refused (e.g. 'EINVAL: vm_insert_page refused a slab page'). The
   * figures below are then absent.
   */
  refused?: string;
  /** mmap(2) of the whole buffer, ns. */
  mmapNs?: Stat;
  /** First touch of every page by reading, on a fresh mapping, ns (whole mapping). */
  touchReadNs?: Stat;
  /** First touch of every page by writing, on a fresh mapping, ns (whole mapping). */
  touchWriteNs?: Stat;
  /** munmap(2) of the whole, touched mapping, ns. */
  munmapNs?: Stat;
  /** Per mapping, median over repetitions: the module's ->fault calls (0 for baselines). */
  faultsRead?: number;
  faultsWrite?: number;
  /** ->map_pages calls per read-touched mapping (fault-around). */
  mapPagesCallsRead?: number;
  /** Minor page faults the process took per mapping (getrusage), read and write touch. */
  minfltRead?: number;
  minfltWrite?: number;
  /** Sequential read / write of the whole mapping after fault-in, bytes per second. */
  readBytesPerSec?: Stat;
  writeBytesPerSec?: Stat;
}

/**
 * The same cycle (map the device buffer, write-touch every page, unmap)
 * driven from TypeScript through the addon and from a small C program, in
 * the same VM.
 */
export interface AddonOverheadRow {
  alloc: AllocName;
  technique: MethodName;
  size: number;
  pages: number;
  /** One whole cycle, ns. */
  typescriptNs: Stat;
  cNs: Stat;
}

/** Options for the guest-side part (part of a 'bench' job). */
export interface GuestBenchOptions {
  /** Buffer sizes to try for every configuration (refused where the allocator cannot). */
  sizes: number[];
  /** Repetitions of every measurement. */
  reps: number;
  /** Also measure write-combining and uncached mappings of the pfn techniques. */
  cacheModes: boolean;
  /** Path of the compiled C cycle program (addon overhead); null skips it. */
  cProgram: string | null;
}

/** What one guest measured: posted as one 'bench-result' event. */
export interface GuestBench {
  kernel: string;
  mapCost: MapCostRow[];
  addonOverhead: AddonOverheadRow[];
}

/** The figures of RestoreBench, in the order the report shows them. */
export const RESTORE_FIGURES = ['templateReadyMs', 'saveMs', 'loadedMs', 'restoreReadyMs', 'hazardCellMs'] as const;
export type RestoreFigure = (typeof RESTORE_FIGURES)[number];

/**
 * The restore path (lib/vm/template.ts) for one kernel: each repetition
 * saves a template of its own and runs one hazard cell in a copy restored
 * from it. Each figure is null when no repetition measured it; `failures`
 * says why, one line per repetition that fell short. The cold boot it is
 * compared with is HarnessBench.agentReadyVmlinuxMs (no boot of its own).
 */
export interface RestoreBench {
  /** QEMU start to the template's agent waiting to be saved, ms (a cold boot of the template). */
  templateReadyMs: Stat | null;
  /** The save itself: the template's agent waiting to its state written (stop, migrate, stream), ms. */
  saveMs: Stat | null;
  /** A restored copy: QEMU start to its saved state loaded, ms. */
  loadedMs: Stat | null;
  /** A restored copy: QEMU start to "guest agent ready", ms. */
  restoreReadyMs: Stat | null;
  /** A restored copy running `hazardCell`: QEMU start to the cell's verdict on the console, ms. */
  hazardCellMs: Stat | null;
  /** The catalogue id of the hazard cell timed. */
  hazardCell: string;
  /** Why repetitions gave fewer figures than asked for ('run 2/5: saving failed: ...'); empty when none did. */
  failures: string[];
}

/** Harness speed for one kernel, measured from the host. */
export interface HarnessBench {
  /** QEMU start to "guest agent ready", ms, booting the extracted ELF vmlinux. */
  agentReadyVmlinuxMs: Stat;
  /** The same, booting Debian's compressed bzImage. */
  agentReadyBzimageMs: Stat;
  /** QEMU start to the first cell's result, vmlinux path. */
  firstCellMs: Stat;
  /** Time per cell in a VM that is already up (basic cells, one boot). */
  perCellMs: Stat;
  /** Saving a VM and starting copies of it instead of booting. */
  restore: RestoreBench;
}

export interface KernelBench {
  kernel: string;
  mapCost: MapCostRow[];
  addonOverhead: AddonOverheadRow[];
  /** Null when the run skipped the harness part. */
  harness: HarnessBench | null;
}

/** 2: HarnessBench.restore. */
export const BENCH_SCHEMA_VERSION = 2;

export interface BenchReport {
  schema: 'mmaplab-bench';
  version: typeof BENCH_SCHEMA_VERSION;
  createdAt: string;
  /** Where it ran: absolute times are emulation times under TCG; read the ratios. */
  environment: {
    accel: 'tcg' | 'kvm' | 'host';
    hostCpus: number;
    hostModel: string;
    guestCpus: number | null;
    guestMemoryMb: number | null;
  };
  options: GuestBenchOptions & { bootRuns: number; cellsPerVm: number };
  kernels: KernelBench[];
  /** Wall time of the default matrix on all kernels, ms; null unless the run measured it. */
  matrixWallMs: number | null;
}
