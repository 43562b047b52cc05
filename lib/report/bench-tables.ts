/**
 * The tables of the benchmark section as plain rows, built once from the
 * ratios of lib/bench/ratios.ts and rendered by both the HTML and the
 * Markdown writer (each escapes for its format). Every figure is shown as
 * 'median [min–max]'; every ratio names what it is a ratio to.
 */
import {
  addonViews,
  allTargets,
  batchingViews,
  faultAroundViews,
  harnessView,
  mapCostViews,
  matrixTarget,
  refusedRows,
  restoreView,
  rowLabel,
  sizeLabel,
  targetCounts,
  TARGETS,
  type MapCostView,
  type TargetCheck,
  type TargetId,
  type TargetStatus,
} from '../bench/ratios';
import type { BenchReport, KernelBench } from '../bench/types';
import { count, ms, NONE, statText, targetThreshold, targetValue, times } from './bench-format';

/** A cell: text, or a target's status (a badge in HTML, bold in Markdown) followed by its figure, if any. */
export type TableCell = string | { status: TargetStatus; text: string };

export interface BenchTable {
  /** Stable, for the HTML class and for tests. */
  id: string;
  title: string;
  /** What the figures are, in a sentence. */
  note: string;
  head: string[];
  rows: TableCell[][];
  /** Short figures only (no free text), so cells need not wrap. */
  figures: boolean;
}

export function statusCell(c: TargetCheck): TableCell {
  return { status: c.status, text: targetValue(c) };
}

function pair(a: number | null | undefined, b: number | null | undefined): string {
  return a === undefined && b === undefined ? NONE : `${count(a)} / ${count(b)}`;
}

export function costTable(k: KernelBench): BenchTable {
  return {
    id: 'cost',
    figures: true,
    title: 'Cost per page',
    note:
      'ns per page, median [min–max] over the repetitions; ×anon is the median over the lazy anonymous mapping of the ' +
      'same size; the last column sets mmap plus the write touch against the same sum for anon + MAP_POPULATE.',
    head: [
      'configuration',
      'size',
      'mmap',
      '×anon',
      'read touch',
      '×anon',
      'write touch',
      '×anon',
      'munmap',
      '×anon',
      'mmap+write ×populate',
    ],
    rows: mapCostViews(k).map((v) => [
      rowLabel(v.row),
      sizeLabel(v.row.size),
      statText(v.perPage.mmap, 'ns'),
      times(v.vsAnon.mmap),
      statText(v.perPage.touchRead, 'ns'),
      times(v.vsAnon.touchRead),
      statText(v.perPage.touchWrite, 'ns'),
      times(v.vsAnon.touchWrite),
      statText(v.perPage.munmap, 'ns'),
      times(v.vsAnon.munmap),
      times(v.mapWriteVsPopulate),
    ]),
  };
}

function wbCell(v: MapCostView): TableCell {
  if (v.wbTarget !== null) return statusCell(v.wbTarget);
  return v.row.alloc === null ? 'baseline' : `no target (${v.row.cache})`;
}

export function throughputTable(k: KernelBench): BenchTable {
  return {
    id: 'throughput',
    figures: true,
    title: 'Throughput after fault-in, and faults per mapping',
    note:
      'Sequential read and write of the whole mapping once every page is mapped, median [min–max]; ×anon over the lazy ' +
      'anonymous mapping of the same size. The target applies to write-back rows (the worse of read and write decides); ' +
      'write-combining and uncached rows are shown without one. Fault counts are medians per mapping (read touch / write touch).',
    head: [
      'configuration',
      'size',
      'read',
      '×anon',
      'write',
      '×anon',
      `wb ${targetThreshold('wb-throughput')}`,
      '->fault',
      'map_pages (read)',
      'minor faults',
    ],
    rows: mapCostViews(k).map((v) => [
      rowLabel(v.row),
      sizeLabel(v.row.size),
      statText(v.row.readBytesPerSec, 'rate'),
      times(v.throughputVsAnon.read),
      statText(v.row.writeBytesPerSec, 'rate'),
      times(v.throughputVsAnon.write),
      wbCell(v),
      pair(v.row.faultsRead, v.row.faultsWrite),
      count(v.row.mapPagesCallsRead),
      pair(v.row.minfltRead, v.row.minfltWrite),
    ]),
  };
}

export function faultAroundTable(k: KernelBench): BenchTable {
  const t = TARGETS['fault-around'];
  return {
    id: 'fault-around',
    figures: true,
    title: 'Fault-around',
    note:
      'The same configuration with ->map_pages off and on: ->fault calls per read-touched mapping (median), off/on, and ' +
      'the read touch in ns per page.',
    head: [
      'configuration',
      'size',
      '->fault off',
      '->fault on',
      'off/on',
      'map_pages on',
      'read touch off',
      'read touch on',
      'off/on',
      `≥ ${t.threshold}× fewer faults`,
    ],
    rows: faultAroundViews(k).map((v) => [
      `${v.alloc}/${v.method}${v.cache !== 'wb' ? ` ${v.cache}` : ''}`,
      sizeLabel(v.size),
      count(v.faultsOff),
      count(v.faultsOn),
      times(v.faultRatio),
      count(v.mapPagesCallsOn),
      statText(v.touchReadOff, 'ns'),
      statText(v.touchReadOn, 'ns'),
      times(v.touchReadRatio),
      statusCell(v.target),
    ]),
  };
}

export function batchingTable(k: KernelBench): BenchTable {
  return {
    id: 'batching',
    figures: true,
    title: 'Batching: mmap cost per page',
    note:
      'mmap of the whole buffer in ns per page, median [min–max], for the methods that map at mmap time; ' +
      '×vm_insert_page is the median over the page-by-page vm_insert_page loop of the same allocator and size.',
    head: ['alloc', 'size', 'method', 'mmap', '×vm_insert_page'],
    rows: batchingViews(k).flatMap((b) =>
      b.entries.map((e) => [
        b.alloc,
        sizeLabel(b.size),
        e.method,
        e.refused !== null ? 'refused (see Refused configurations)' : statText(e.mmap, 'ns'),
        times(e.vsInsertPage),
      ]),
    ),
  };
}

export function addonTable(k: KernelBench): BenchTable {
  return {
    id: 'addon',
    figures: true,
    title: 'Addon overhead',
    note: 'One cycle (map the device buffer, write-touch every page, unmap) driven from TypeScript through the addon and from C, in the same VM.',
    head: ['configuration', 'size', 'TypeScript', 'C', 'TS/C', `≤ ${TARGETS['addon-overhead'].threshold}×`],
    rows: addonViews(k).map((v) => [
      `${v.row.alloc}/${v.row.method}`,
      sizeLabel(v.row.size),
      statText(v.row.typescriptNs, 'ns'),
      statText(v.row.cNs, 'ns'),
      times(v.tsOverC),
      statusCell(v.target),
    ]),
  };
}

export function refusedTable(k: KernelBench): BenchTable {
  return {
    id: 'refused',
    figures: false,
    title: 'Refused configurations',
    note: 'Not measured, so not charted: CONFIGURE or mmap refused them, for the reason given.',
    head: ['configuration', 'size', 'reason'],
    rows: refusedRows(k).map((r) => [rowLabel(r), sizeLabel(r.size), r.refused ?? '']),
  };
}

/** The tables of one kernel, in the order the section shows them; empty ones are left to the caller to skip. */
export function kernelTables(k: KernelBench): BenchTable[] {
  return [costTable(k), throughputTable(k), faultAroundTable(k), batchingTable(k), addonTable(k), refusedTable(k)];
}

export function harnessTable(report: BenchReport): BenchTable {
  return {
    id: 'harness',
    figures: true,
    title: 'Harness',
    note:
      'From QEMU start, ms, median [min–max] over the boots: the guest agent ready on each boot path, the first cell done ' +
      '(vmlinux path), and the time per cell in a VM that is already up.',
    head: [
      'kernel',
      'agent ready, vmlinux',
      'agent ready, bzImage',
      'bzImage/vmlinux',
      'first cell',
      'per cell',
      `agent ready ${targetThreshold('agent-ready')}`,
    ],
    rows: report.kernels.map((k) => {
      const v = harnessView(k);
      const h = v.harness;
      if (h === null) return [k.kernel, NONE, NONE, NONE, NONE, NONE, statusCell(v.target)];
      return [
        k.kernel,
        statText(h.agentReadyVmlinuxMs, 'ms'),
        statText(h.agentReadyBzimageMs, 'ms'),
        times(v.bzimageOverVmlinux),
        statText(h.firstCellMs, 'ms'),
        statText(h.perCellMs, 'ms'),
        statusCell(v.target),
      ];
    }),
  };
}

/** The hazard cells the run's restored copies ran (one, unless kernels differ). */
function hazardCells(report: BenchReport): string {
  const ids = new Set(report.kernels.flatMap((k) => (k.harness === null ? [] : [k.harness.restore.hazardCell])));
  return ids.size === 0 ? NONE : [...ids].join(', ');
}

export function restoreTable(report: BenchReport): BenchTable {
  return {
    id: 'restore',
    figures: true,
    title: 'Restore instead of boot',
    note:
      'From QEMU start, ms, median [min–max] over the repetitions. Each repetition saves a template of its own (its cold ' +
      'boot to the agent waiting, then the save: stop, migrate, state written) and restores one copy of it, which runs ' +
      `the hazard cell ${hazardCells(report)}. The cold boot is the vmlinux agent-ready figure above; restored/cold and ` +
      'hazard cell/cold are medians over its median.',
    head: [
      'kernel',
      'cold boot: agent ready',
      'template: agent waiting',
      'save',
      'restored: state loaded',
      'restored: agent ready',
      `restored/cold ${targetThreshold('restore-ready')}`,
      'hazard cell: verdict',
      'hazard cell/cold',
      `hazard cell ${targetThreshold('hazard-cell')}`,
    ],
    rows: report.kernels.map((k) => {
      const v = restoreView(k);
      const r = v.restore;
      return [
        k.kernel,
        statText(v.coldReadyMs, 'ms'),
        statText(r?.templateReadyMs, 'ms'),
        statText(r?.saveMs, 'ms'),
        statText(r?.loadedMs, 'ms'),
        statText(r?.restoreReadyMs, 'ms'),
        statusCell(v.readyTarget),
        statText(r?.hazardCellMs, 'ms'),
        times(v.hazardCellOverBoot),
        statusCell(v.hazardTarget),
      ];
    }),
  };
}

export function restoreFailuresTable(report: BenchReport): BenchTable {
  return {
    id: 'restore-failures',
    figures: false,
    title: 'Restore repetitions that fell short',
    note: 'A repetition listed here gave fewer figures than the others, so a figure above may have fewer samples than the boots.',
    head: ['kernel', 'what happened'],
    rows: report.kernels.flatMap((k) => (k.harness === null ? [] : k.harness.restore.failures.map((f) => [k.kernel, f]))),
  };
}

/** The matrix wall time as a sentence. */
export function matrixLine(report: BenchReport): string {
  const c = matrixTarget(report);
  return c.value === null
    ? `Default matrix on all kernels: not measured in this run (target ${targetThreshold(c.id)}).`
    : `Default matrix on all kernels: ${ms(c.value)} (target ${targetThreshold(c.id)}: ${c.status}).`;
}

/** The worst status decides a summary: one failure is a failure, one gap is a gap. */
function summaryStatus(c: Record<TargetStatus, number>): TargetStatus {
  return c['not met'] > 0 ? 'not met' : c['not measured'] > 0 ? 'not measured' : 'met';
}

/** One row per target and kernel (the matrix time once, run-wide): how many checks have each status. */
export function targetSummaryTable(report: BenchReport): BenchTable {
  const checks = allTargets(report);
  const keys: Array<[TargetId, string | null]> = [];
  for (const c of checks) if (!keys.some(([id, k]) => id === c.id && k === c.kernel)) keys.push([c.id, c.kernel]);
  return {
    id: 'target-summary',
    figures: false,
    title: 'Targets at a glance',
    note: 'Per target and kernel, how many of its checks were met, not met or not measured; every check is listed at the end.',
    head: ['target', 'threshold', 'kernel', 'met', 'not met', 'not measured', 'overall'],
    rows: keys.map(([id, kernel]) => {
      const counts = targetCounts(checks.filter((c) => c.id === id && c.kernel === kernel));
      const only = checks.find((c) => c.id === id && c.kernel === kernel) as TargetCheck;
      // A single check shows its figure; several show their counts only.
      const text = counts.met + counts['not met'] + counts['not measured'] === 1 ? targetValue(only) : '';
      return [
        TARGETS[id].text,
        targetThreshold(id),
        kernel ?? 'all',
        String(counts.met),
        String(counts['not met']),
        String(counts['not measured']),
        { status: summaryStatus(counts), text },
      ];
    }),
  };
}

export function targetsTable(report: BenchReport): BenchTable {
  return {
    id: 'targets',
    figures: false,
    title: 'Every target check',
    note: "Each target judged from this run's figures; a target no figure of the run could test is listed as not measured, never as met.",
    head: ['target', 'kernel', 'subject', 'threshold', 'measured', 'status'],
    rows: allTargets(report).map((c) => [
      TARGETS[c.id].text,
      c.kernel ?? 'all',
      c.subject,
      targetThreshold(c.id),
      targetValue(c),
      { status: c.status, text: '' },
    ]),
  };
}
