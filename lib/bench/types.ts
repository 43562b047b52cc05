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
}

export interface KernelBench {
  kernel: string;
  mapCost: MapCostRow[];
  addonOverhead: AddonOverheadRow[];
  /** Null when the run skipped the harness part. */
  harness: HarnessBench | null;
}

export const BENCH_SCHEMA_VERSION = 1;

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
