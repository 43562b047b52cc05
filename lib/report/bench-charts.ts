/**
 * What the benchmark section charts, as BarChart specs for bench-svg.ts.
 * Only measured rows are charted (refused ones are listed in a table), and
 * each chart compares rows of one kernel and, where time scales with the
 * buffer, one size.
 */
import {
  addonViews,
  baselineRow,
  batchingViews,
  faultAroundViews,
  mapCostViews,
  perPage,
  rowLabel,
  sizeLabel,
  TARGETS,
  type MapCostView,
} from '../bench/ratios';
import type { BenchReport, KernelBench, Stat } from '../bench/types';
import { count, ms, ns, statText, times } from './bench-format';
import type { BarChart, ChartBar } from './bench-svg';

/** Colours: read blue, write orange throughout; baselines and targets as dashed lines. */
export const COLORS = {
  read: '#1565c0',
  write: '#ef6c00',
  anonRead: '#0d47a1',
  anonWrite: '#bf360c',
  target: '#c62828',
  reference: '#546e7a',
  off: '#78909c',
  on: '#2e7d32',
  mmap: '#6a1b9a',
  c: '#546e7a',
  vmlinux: '#2e7d32',
  bzimage: '#ef6c00',
  restored: '#1565c0',
} as const;

/** Axis ticks: zero as '0' whatever the unit. */
function tickOf(f: (v: number) => string): (v: number) => string {
  return (v) => (v === 0 ? '0' : f(v));
}

function nsBar(s: Stat | null): ChartBar | null {
  return s === null ? null : { value: s.median, min: s.min, max: s.max, text: statText(s, 'ns') };
}

function ratioBar(v: number | null): ChartBar | null {
  return v === null || !Number.isFinite(v) ? null : { value: v, text: times(v) };
}

function sizesOf(views: readonly MapCostView[]): number[] {
  return [...new Set(views.map((v) => v.row.size))].sort((a, b) => a - b);
}

/** Per size: first-touch ns/page, read and write, of every configuration but the lazy anon baseline, which is the dashed line. */
export function touchCharts(k: KernelBench): BarChart[] {
  const views = mapCostViews(k);
  return sizesOf(views).map((size) => {
    const anon = baselineRow(k.mapCost, 'anon', size);
    const anonRead = anon === null ? null : perPage(anon.touchReadNs, anon.pages);
    const anonWrite = anon === null ? null : perPage(anon.touchWriteNs, anon.pages);
    return {
      title: `First touch, ns per page, ${sizeLabel(size)}`,
      series: [
        { name: 'read touch', color: COLORS.read },
        { name: 'write touch', color: COLORS.write },
      ],
      groups: views
        .filter((v) => v.row.size === size && !(v.row.alloc === null && v.row.method === 'anon'))
        .map((v) => ({ label: rowLabel(v.row), bars: [nsBar(v.perPage.touchRead), nsBar(v.perPage.touchWrite)] })),
      markers: [
        ...(anonRead === null ? [] : [{ value: anonRead.median, label: `anon read ${ns(anonRead.median)}`, color: COLORS.anonRead }]),
        ...(anonWrite === null ? [] : [{ value: anonWrite.median, label: `anon write ${ns(anonWrite.median)}`, color: COLORS.anonWrite }]),
      ],
      tick: tickOf(ns),
    };
  });
}

/** Per size: throughput of each method over anon's, with 1× (anon) and the write-back target marked. */
export function throughputCharts(k: KernelBench): BarChart[] {
  const views = mapCostViews(k).filter((v) => v.row.alloc !== null);
  return sizesOf(views).map((size) => ({
    title: `Throughput over anon, ${sizeLabel(size)}`,
    series: [
      { name: 'read ×anon', color: COLORS.read },
      { name: 'write ×anon', color: COLORS.write },
    ],
    groups: views
      .filter((v) => v.row.size === size && (v.throughputVsAnon.read !== null || v.throughputVsAnon.write !== null))
      .map((v) => ({ label: rowLabel(v.row), bars: [ratioBar(v.throughputVsAnon.read), ratioBar(v.throughputVsAnon.write)] })),
    markers: [
      { value: 1, label: 'anon (1×)', color: COLORS.reference },
      { value: TARGETS['wb-throughput'].threshold, label: `wb target ${TARGETS['wb-throughput'].threshold}×`, color: COLORS.target },
    ],
    tick: tickOf(times),
  }));
}

export function faultAroundChart(k: KernelBench): BarChart {
  return {
    title: '->fault calls per read-touched mapping, fault-around off and on',
    series: [
      { name: 'fault-around off', color: COLORS.off },
      { name: 'fault-around on', color: COLORS.on },
    ],
    groups: faultAroundViews(k).map((v) => ({
      label: `${v.alloc}/${v.method}${v.cache !== 'wb' ? ` ${v.cache}` : ''} ${sizeLabel(v.size)}`,
      bars: [v.faultsOff, v.faultsOn].map((f) => (f === null ? null : { value: f, text: count(f) })),
    })),
    tick: count,
  };
}

/** Per size: mmap ns/page of the methods that map at mmap time (refused ones left out). */
export function batchingCharts(k: KernelBench): BarChart[] {
  const views = batchingViews(k);
  const sizes = [...new Set(views.map((b) => b.size))].sort((a, b) => a - b);
  return sizes.map((size) => ({
    title: `Batching: mmap, ns per page, ${sizeLabel(size)}`,
    series: [{ name: 'mmap ns/page', color: COLORS.mmap }],
    groups: views
      .filter((b) => b.size === size)
      .flatMap((b) => b.entries.filter((e) => e.mmap !== null).map((e) => ({ label: `${b.alloc}/${e.method}`, bars: [nsBar(e.mmap)] }))),
    tick: tickOf(ns),
  }));
}

/** Per page, so that cycles of very different sizes share one axis; the ratio is the same. */
export function addonChart(k: KernelBench): BarChart {
  return {
    title: 'Addon overhead: one map/write-touch/unmap cycle, ns per page',
    series: [
      { name: 'TypeScript (addon)', color: COLORS.read },
      { name: 'C', color: COLORS.c },
    ],
    groups: addonViews(k).map((v) => ({
      label: `${v.row.alloc}/${v.row.method} ${sizeLabel(v.row.size)}`,
      bars: [nsBar(perPage(v.row.typescriptNs, v.row.pages)), nsBar(perPage(v.row.cNs, v.row.pages))],
    })),
    tick: tickOf(ns),
  };
}

function msBar(s: Stat | null): ChartBar | null {
  return s === null ? null : { value: s.median, min: s.min, max: s.max, text: statText(s, 'ms') };
}

/** Agent ready per kernel on each boot path and in a restored copy, with the 2.5 s target. */
export function harnessChart(report: BenchReport): BarChart {
  return {
    title: 'Harness: QEMU start to guest agent ready',
    series: [
      { name: 'vmlinux (ELF, PVH)', color: COLORS.vmlinux },
      { name: 'bzImage', color: COLORS.bzimage },
      { name: 'restored copy', color: COLORS.restored },
    ],
    groups: report.kernels.flatMap((k) => {
      const h = k.harness;
      return h === null
        ? []
        : [{ label: k.kernel, bars: [msBar(h.agentReadyVmlinuxMs), msBar(h.agentReadyBzimageMs), msBar(h.restore.restoreReadyMs)] }];
    }),
    markers: [{ value: TARGETS['agent-ready'].threshold, label: `target ${ms(TARGETS['agent-ready'].threshold)}`, color: COLORS.target }],
    tick: tickOf(ms),
  };
}
