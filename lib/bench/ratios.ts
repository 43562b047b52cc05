/**
 * The comparisons the benchmark report shows, computed from the raw rows of
 * lib/bench/types.ts. Every ratio pairs two rows of the same kernel in the
 * same run (a method and the anonymous baseline of the same size,
 * fault-around off and on, ...): absolute times under TCG are emulation
 * times, but two methods emulated side by side compare fairly.
 *
 * Every target is judged from a measured figure or reported 'not measured'
 * with the reason; a missing row never counts as met.
 */
import type { AllocName, CacheName, CellMethodName } from '../experiments/types';
import type { AddonOverheadRow, Baseline, BenchReport, HarnessBench, KernelBench, MapCostRow, RestoreBench, Stat } from './types';

export type TargetStatus = 'met' | 'not met' | 'not measured';

export type TargetId =
  'wb-throughput' | 'fault-around' | 'addon-overhead' | 'agent-ready' | 'restore-ready' | 'hazard-cell' | 'matrix-wall';

export interface TargetDef {
  id: TargetId;
  /** The target as people read it. */
  text: string;
  threshold: number;
  /** Met when the measured value is at least ('min') or at most ('max') the threshold. */
  kind: 'min' | 'max';
  /** '×' for a ratio, 'ms' for a time. */
  unit: '×' | 'ms';
}

export const TARGETS: Readonly<Record<TargetId, TargetDef>> = {
  'wb-throughput': {
    id: 'wb-throughput',
    text: "write-back cached methods reach ≥ 0.95× the anonymous mapping's read and write throughput",
    threshold: 0.95,
    kind: 'min',
    unit: '×',
  },
  'fault-around': {
    id: 'fault-around',
    text: 'fault-around takes ≥ 8× fewer ->fault calls on a read touch',
    threshold: 8,
    kind: 'min',
    unit: '×',
  },
  'addon-overhead': {
    id: 'addon-overhead',
    text: 'a map/touch/unmap cycle from TypeScript through the addon costs ≤ 1.5× the same cycle in C',
    threshold: 1.5,
    kind: 'max',
    unit: '×',
  },
  'agent-ready': {
    id: 'agent-ready',
    text: 'the guest agent is ready ≤ 2.5 s after QEMU starts (vmlinux boot)',
    threshold: 2500,
    kind: 'max',
    unit: 'ms',
  },
  'restore-ready': {
    id: 'restore-ready',
    text: 'a restored copy reaches guest agent ready in ≤ 0.3× the time of a cold boot (medians, from QEMU start)',
    threshold: 0.3,
    kind: 'max',
    unit: '×',
  },
  'hazard-cell': {
    id: 'hazard-cell',
    text: 'a hazard cell in a fresh (restored) kernel has its verdict ≤ 2 s after QEMU starts (median)',
    threshold: 2000,
    kind: 'max',
    unit: 'ms',
  },
  'matrix-wall': {
    id: 'matrix-wall',
    text: 'the default matrix on all kernels takes ≤ 5 min',
    threshold: 5 * 60 * 1000,
    kind: 'max',
    unit: 'ms',
  },
};

/** One target judged for one subject (a row, a pair of rows, a kernel or the run). */
export interface TargetCheck {
  id: TargetId;
  /** Null for a run-wide target (the matrix time). */
  kernel: string | null;
  /** What was measured: a configuration, a size, a boot path. */
  subject: string;
  status: TargetStatus;
  /** The figure compared with the threshold (in the target's unit); null when not measured. */
  value: number | null;
  /** Why there is no figure; null when there is one. */
  reason: string | null;
}

/**
 * a / b, or null when either is missing. A zero denominator gives Infinity
 * when the numerator is not zero (fault-around can leave ->fault uncalled
 * entirely: its ->map_pages already mapped the page), null when both are.
 */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (b === 0) return a === 0 ? null : Infinity;
  return a / b;
}

/** A Stat of a whole-mapping figure per page; null when the figure is absent. */
export function perPage(s: Stat | undefined, pages: number): Stat | null {
  if (s === undefined || pages <= 0) return null;
  return { median: s.median / pages, min: s.min / pages, max: s.max / pages, n: s.n };
}

/**
 * Met or not met. The comparison allows a relative 1e-9 of rounding: a
 * ratio of two medians that is the threshold on paper (1.52e9 / 1.6e9) must
 * not fail by the last bit of a double.
 */
export function judge(id: TargetId, value: number): TargetStatus {
  const t = TARGETS[id];
  const slack = Math.abs(t.threshold) * 1e-9;
  return (t.kind === 'min' ? value >= t.threshold - slack : value <= t.threshold + slack) ? 'met' : 'not met';
}

function check(id: TargetId, kernel: string | null, subject: string, value: number | null, reason: string): TargetCheck {
  return value === null
    ? { id, kernel, subject, status: 'not measured', value: null, reason }
    : { id, kernel, subject, status: judge(id, value), value, reason: null };
}

/** 4096 -> '4 KiB', 2097152 -> '2 MiB'; a size that is no whole KiB stays in bytes. */
export function sizeLabel(bytes: number): string {
  const units: ReadonlyArray<[number, string]> = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [n, unit] of units) if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  return `${bytes} B`;
}

export function isBaseline(row: MapCostRow): boolean {
  return row.alloc === null;
}

/** How a row is named in tables and charts: 'pages_array/vm_insert_page' or 'anon', then ' wc'/' uc' and ' +fault-around' when set. */
export function rowLabel(row: MapCostRow): string {
  const base = row.alloc === null ? row.method : `${row.alloc}/${row.method}`;
  return `${base}${row.cache !== 'wb' ? ` ${row.cache}` : ''}${row.faultAround ? ' +fault-around' : ''}`;
}

/** The measured (not refused) baseline row of this size, if the run has one. */
export function baselineRow(rows: readonly MapCostRow[], which: Baseline, size: number): MapCostRow | null {
  return rows.find((r) => r.alloc === null && r.method === which && r.size === size && r.refused === undefined) ?? null;
}

export interface PerPageFigures {
  mmap: Stat | null;
  touchRead: Stat | null;
  touchWrite: Stat | null;
  munmap: Stat | null;
}

function perPageFigures(row: MapCostRow | null): PerPageFigures {
  if (row === null) return { mmap: null, touchRead: null, touchWrite: null, munmap: null };
  return {
    mmap: perPage(row.mmapNs, row.pages),
    touchRead: perPage(row.touchReadNs, row.pages),
    touchWrite: perPage(row.touchWriteNs, row.pages),
    munmap: perPage(row.munmapNs, row.pages),
  };
}

/** mmap plus write touch, ns per page: what a mapping costs until every page is writable. */
function mapAndWrite(f: PerPageFigures): number | null {
  return f.mmap === null || f.touchWrite === null ? null : f.mmap.median + f.touchWrite.median;
}

/** One measured MapCostRow with its ns/page figures and its ratios to the baselines of its size. */
export interface MapCostView {
  row: MapCostRow;
  perPage: PerPageFigures;
  /** Each figure's median over the lazy anonymous baseline's ('anon', same size). */
  vsAnon: { mmap: number | null; touchRead: number | null; touchWrite: number | null; munmap: number | null };
  /**
   * (mmap + write touch) over the same sum for 'anon_populate': below 1 the
   * method gets every page writable cheaper than MAP_POPULATE does.
   */
  mapWriteVsPopulate: number | null;
  /** Sequential read / write throughput medians over 'anon''s (same size). */
  throughputVsAnon: { read: number | null; write: number | null };
  /** The write-back target for method rows with cache 'wb'; null for baselines and wc/uc rows (no target). */
  wbTarget: TargetCheck | null;
}

function wbTarget(kernel: string, row: MapCostRow, read: number | null, write: number | null): TargetCheck | null {
  if (isBaseline(row) || row.cache !== 'wb') return null;
  const subject = `${rowLabel(row)} ${sizeLabel(row.size)}`;
  const measured = [read, write].filter((x): x is number => x !== null);
  // The worse of the two decides, and one figure below the threshold is already a fact; only a pass needs both.
  const worst = measured.length > 0 ? Math.min(...measured) : null;
  if (worst !== null && (measured.length === 2 || judge('wb-throughput', worst) === 'not met')) {
    return check('wb-throughput', kernel, subject, worst, '');
  }
  return check('wb-throughput', kernel, subject, null, throughputMissing(row, read, write));
}

function throughputMissing(row: MapCostRow, read: number | null, write: number | null): string {
  const which = [read === null ? 'read' : null, write === null ? 'write' : null].filter((x) => x !== null).join(' and ');
  const own = (read === null && row.readBytesPerSec === undefined) || (write === null && row.writeBytesPerSec === undefined);
  return own ? `no ${which} throughput for this row` : `no ${which} throughput for the anon baseline of this size`;
}

/** Every measured row of a kernel with its figures and ratios; refused rows are left to refusedRows(). */
export function mapCostViews(k: KernelBench): MapCostView[] {
  return k.mapCost
    .filter((r) => r.refused === undefined)
    .map((row) => {
      const anon = baselineRow(k.mapCost, 'anon', row.size);
      const pop = baselineRow(k.mapCost, 'anon_populate', row.size);
      const mine = perPageFigures(row);
      const base = perPageFigures(anon);
      const read = ratio(row.readBytesPerSec?.median, anon?.readBytesPerSec?.median);
      const write = ratio(row.writeBytesPerSec?.median, anon?.writeBytesPerSec?.median);
      return {
        row,
        perPage: mine,
        vsAnon: {
          mmap: ratio(mine.mmap?.median, base.mmap?.median),
          touchRead: ratio(mine.touchRead?.median, base.touchRead?.median),
          touchWrite: ratio(mine.touchWrite?.median, base.touchWrite?.median),
          munmap: ratio(mine.munmap?.median, base.munmap?.median),
        },
        mapWriteVsPopulate: ratio(mapAndWrite(mine), mapAndWrite(perPageFigures(pop))),
        throughputVsAnon: { read, write },
        wbTarget: wbTarget(k.kernel, row, read, write),
      };
    });
}

export function refusedRows(k: KernelBench): MapCostRow[] {
  return k.mapCost.filter((r) => r.refused !== undefined);
}

/** The same method, allocator, size and cache with fault-around off and on. */
export interface FaultAroundView {
  alloc: AllocName;
  method: CellMethodName;
  size: number;
  pages: number;
  cache: CacheName;
  faultsOff: number | null;
  faultsOn: number | null;
  /** ->fault calls off / on: how many times fewer faults fault-around takes. */
  faultRatio: number | null;
  mapPagesCallsOn: number | null;
  touchReadOff: Stat | null;
  touchReadOn: Stat | null;
  /** Read-touch ns/page medians off / on: above 1 fault-around is faster. */
  touchReadRatio: number | null;
  target: TargetCheck;
}

function faultAroundSubject(v: { alloc: string; method: string; size: number; cache: string }): string {
  return `${v.alloc}/${v.method}${v.cache !== 'wb' ? ` ${v.cache}` : ''} ${sizeLabel(v.size)}`;
}

export function faultAroundViews(k: KernelBench): FaultAroundView[] {
  const measured = k.mapCost.filter((r) => r.refused === undefined && r.alloc !== null);
  const out: FaultAroundView[] = [];
  for (const on of measured.filter((r) => r.faultAround)) {
    const off = measured.find(
      (r) => !r.faultAround && r.alloc === on.alloc && r.method === on.method && r.size === on.size && r.cache === on.cache,
    );
    if (off === undefined) continue;
    const alloc = on.alloc as AllocName;
    const method = on.method as CellMethodName;
    const faultRatio = ratio(off.faultsRead, on.faultsRead);
    const touchReadOff = perPage(off.touchReadNs, off.pages);
    const touchReadOn = perPage(on.touchReadNs, on.pages);
    const subject = faultAroundSubject({ alloc, method, size: on.size, cache: on.cache });
    const threshold = TARGETS['fault-around'].threshold;
    let target: TargetCheck;
    if (on.pages < threshold) {
      // A buffer of fewer pages than the factor cannot save that many faults: judging it would report a failure of the buffer, not of fault-around.
      target = check('fault-around', k.kernel, subject, null, `${on.pages} page(s): too few to save ${threshold}× the faults`);
    } else {
      target = check('fault-around', k.kernel, subject, faultRatio, 'no ->fault count for fault-around off or on');
    }
    out.push({
      alloc,
      method,
      size: on.size,
      pages: on.pages,
      cache: on.cache,
      faultsOff: off.faultsRead ?? null,
      faultsOn: on.faultsRead ?? null,
      faultRatio,
      mapPagesCallsOn: on.mapPagesCallsRead ?? null,
      touchReadOff,
      touchReadOn,
      touchReadRatio: ratio(touchReadOff?.median, touchReadOn?.median),
      target,
    });
  }
  return out;
}

/** The methods compared for batching, the per-page loop (the reference) first. */
export const BATCHING_METHODS: readonly CellMethodName[] = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages', 'remap_pfn_range'];

export interface BatchingEntry {
  method: CellMethodName;
  /** mmap ns/page; null when the row is refused or has no mmap time. */
  mmap: Stat | null;
  refused: string | null;
  /** mmap ns/page median over vm_insert_page's (the page-by-page loop). */
  vsInsertPage: number | null;
}

/** One allocator and size: the mmap cost per page of each batching method the run measured. */
export interface BatchingView {
  alloc: AllocName;
  size: number;
  pages: number;
  entries: BatchingEntry[];
}

export function batchingViews(k: KernelBench): BatchingView[] {
  const rows = k.mapCost.filter(
    (r) => r.alloc !== null && r.cache === 'wb' && !r.faultAround && (BATCHING_METHODS as readonly string[]).includes(r.method),
  );
  const groups = new Map<string, MapCostRow[]>();
  for (const r of rows) {
    const key = `${r.alloc}\u0000${r.size}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: BatchingView[] = [];
  for (const group of groups.values()) {
    const [first, second] = group;
    // One method alone compares with nothing.
    if (first === undefined || second === undefined) continue;
    const loop = group.find((r) => r.method === 'vm_insert_page' && r.refused === undefined);
    const loopMmap = loop === undefined ? null : perPage(loop.mmapNs, loop.pages);
    const entries = BATCHING_METHODS.flatMap((t): BatchingEntry[] => {
      const r = group.find((x) => x.method === t);
      if (r === undefined) return [];
      const mmap = r.refused === undefined ? perPage(r.mmapNs, r.pages) : null;
      return [{ method: t, mmap, refused: r.refused ?? null, vsInsertPage: ratio(mmap?.median, loopMmap?.median) }];
    });
    out.push({ alloc: first.alloc as AllocName, size: first.size, pages: first.pages, entries });
  }
  return out;
}

export interface AddonView {
  row: AddonOverheadRow;
  /** TypeScript cycle median over the C cycle's. */
  tsOverC: number | null;
  target: TargetCheck;
}

export function addonViews(k: KernelBench): AddonView[] {
  return k.addonOverhead.map((row) => {
    const tsOverC = ratio(row.typescriptNs.median, row.cNs.median);
    const subject = `${row.alloc}/${row.method} ${sizeLabel(row.size)}`;
    return { row, tsOverC, target: check('addon-overhead', k.kernel, subject, tsOverC, 'the C cycle took no time') };
  });
}

const HARNESS_SKIPPED = 'not measured in this run (harness part skipped)';

export interface HarnessView {
  harness: HarnessBench | null;
  /** bzImage agent-ready median over vmlinux's: how much the ELF boot path saves. */
  bzimageOverVmlinux: number | null;
  target: TargetCheck;
}

export function harnessView(k: KernelBench): HarnessView {
  const h = k.harness;
  return {
    harness: h,
    bzimageOverVmlinux: h === null ? null : ratio(h.agentReadyBzimageMs.median, h.agentReadyVmlinuxMs.median),
    target: check(
      'agent-ready',
      k.kernel,
      'agent ready, vmlinux boot (median)',
      h === null ? null : h.agentReadyVmlinuxMs.median,
      HARNESS_SKIPPED,
    ),
  };
}

export interface RestoreView {
  restore: RestoreBench | null;
  /** The cold boot compared with: agent ready on the vmlinux path (HarnessBench.agentReadyVmlinuxMs). */
  coldReadyMs: Stat | null;
  /** Restored agent-ready median over the cold boot's. */
  restoreOverBoot: number | null;
  /** Hazard cell verdict median (restored) over the cold boot's agent-ready median. */
  hazardCellOverBoot: number | null;
  readyTarget: TargetCheck;
  hazardTarget: TargetCheck;
}

/** Why a restore figure is null, in a few words: the repetitions' own reasons are RestoreBench.failures. */
function restoreMissing(r: RestoreBench | null, what: string): string {
  if (r === null) return HARNESS_SKIPPED;
  return r.failures.length === 0 ? `no ${what}` : `no ${what} (${r.failures.length} repetition(s) fell short)`;
}

export function restoreView(k: KernelBench): RestoreView {
  const r = k.harness?.restore ?? null;
  const cold = k.harness?.agentReadyVmlinuxMs ?? null;
  const restoreOverBoot = ratio(r?.restoreReadyMs?.median, cold?.median);
  const hazardCellOverBoot = ratio(r?.hazardCellMs?.median, cold?.median);
  return {
    restore: r,
    coldReadyMs: cold,
    restoreOverBoot,
    hazardCellOverBoot,
    readyTarget: check(
      'restore-ready',
      k.kernel,
      'restored / cold boot, agent ready (medians)',
      restoreOverBoot,
      restoreMissing(r, 'restored copy reached its agent'),
    ),
    hazardTarget: check(
      'hazard-cell',
      k.kernel,
      `${r?.hazardCell ?? 'hazard cell'}, restored, to verdict (median)`,
      r?.hazardCellMs?.median ?? null,
      restoreMissing(r, "restored copy gave the hazard cell's verdict"),
    ),
  };
}

export function matrixTarget(report: BenchReport): TargetCheck {
  return check('matrix-wall', null, 'default matrix, all kernels', report.matrixWallMs, 'not measured in this run');
}

/** Stands for a target no row of the run could test, so that every target is listed. */
function untested(id: TargetId, kernel: string, why: string): TargetCheck {
  return { id, kernel, subject: '-', status: 'not measured', value: null, reason: why };
}

/** Every target check of the run, per kernel in report order, then the run-wide ones. */
export function allTargets(report: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const k of report.kernels) {
    const wb = mapCostViews(k).flatMap((v) => (v.wbTarget === null ? [] : [v.wbTarget]));
    out.push(...(wb.length > 0 ? wb : [untested('wb-throughput', k.kernel, 'no write-back method row measured')]));
    const fa = faultAroundViews(k).map((v) => v.target);
    out.push(...(fa.length > 0 ? fa : [untested('fault-around', k.kernel, 'no row measured with fault-around both off and on')]));
    const addon = addonViews(k).map((v) => v.target);
    out.push(...(addon.length > 0 ? addon : [untested('addon-overhead', k.kernel, 'no addon overhead row (no C program?)')]));
    out.push(harnessView(k).target);
    const restore = restoreView(k);
    out.push(restore.readyTarget, restore.hazardTarget);
  }
  out.push(matrixTarget(report));
  return out;
}

/** How many checks have each status. */
export function targetCounts(checks: readonly TargetCheck[]): Record<TargetStatus, number> {
  const counts: Record<TargetStatus, number> = { met: 0, 'not met': 0, 'not measured': 0 };
  for (const c of checks) counts[c.status]++;
  return counts;
}
