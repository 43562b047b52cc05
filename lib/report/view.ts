/**
 * What every human-facing format (Markdown, HTML) shows the same way: the
 * verdict symbols and their legend, the allocator x method grid of the
 * basic cells per kernel, the list of surprises, and outcome labels. Pure
 * functions of a MatrixReport; nothing here looks at a verdict's meaning
 * beyond choosing its symbol.
 */
import { notApplicableLine } from '../experiments/applicable';
import { CATALOGUE, SIZES } from '../experiments/catalogue';
import type { Observation, Outcome } from '../experiments/expectations';
import { CELL_ALLOCS, CELL_METHODS, type CellSpec } from '../experiments/types';
import { isUse, PMD_SIZED_USES, type UseFamily, USES, useFamily, useTitle } from '../experiments/uses';
import type { MatrixReport, ReportCell, ReportExpectation, ReportKernel } from './schema';

/** Symbol per verdict; all of them exist in DejaVu Sans, so they render without emoji fonts. */
export const VERDICT_SYMBOLS: Readonly<Record<string, string>> = {
  ok: '✓',
  refused: '✗',
  'wrong-data': '≠',
  'user-signal': '⚡',
  'kernel-complaint': '⚠',
  oops: '✹',
  panic: '☠',
  hang: '∞',
  error: '?',
};

/** A catalogue cell this run did not include (e.g. narrowed with --cell). */
export const NOT_RUN_SYMBOL = '·';

/** Marks after the symbol when the cell is not simply as expected. */
export const AGREEMENT_MARKS: Readonly<Record<string, string>> = {
  agrees: '',
  'as-recorded': '°',
  differs: '!',
  flaky: '~',
  'no-expectation': '*',
};

export interface LegendEntry {
  symbol: string;
  meaning: string;
}

export const LEGEND: readonly LegendEntry[] = [
  { symbol: '✓', meaning: 'ok: mapped, data correct both ways, no complaint, no new taint' },
  { symbol: '✗', meaning: 'refused: the kernel or the module rejected a step with an errno' },
  { symbol: '≠', meaning: 'wrong-data: the mapping worked but userspace and the kernel disagree' },
  { symbol: '⚡', meaning: 'user-signal: the probe was killed by a signal' },
  { symbol: '⚠', meaning: 'kernel-complaint: Bad page state, WARNING, trouble taint...' },
  { symbol: '✹', meaning: 'oops' },
  { symbol: '☠', meaning: 'panic' },
  { symbol: '∞', meaning: 'hang: the kernel stopped answering' },
  { symbol: '?', meaning: 'error: mmaplab itself failed (not a kernel result)' },
  { symbol: NOT_RUN_SYMBOL, meaning: 'in the catalogue but not in this run' },
  { symbol: '°', meaning: '(after a symbol) contradicts its prediction, as the observation record shows earlier runs did' },
  { symbol: '!', meaning: '(after a symbol) differs from its prediction and from any recorded observation' },
  { symbol: '~', meaning: '(after a symbol) flaky: its runs disagree; every outcome seen is shown' },
  { symbol: '*', meaning: '(after a symbol) no expectation for this kernel series' },
  { symbol: '‡', meaning: '(uses grid) the outcome differs between the kernel series of this report' },
];

export function verdictSymbol(verdict: string): string {
  return VERDICT_SYMBOLS[verdict] ?? '?';
}

/** The symbols of every outcome seen (most frequent first), then the agreement mark. */
export function cellSymbol(rc: ReportCell): string {
  const verdicts: string[] = [];
  const byCount = Object.entries(rc.distribution).sort((a, b) => b[1] - a[1]);
  for (const [key] of byCount) {
    const v = key.split(' ')[0] ?? key;
    if (!verdicts.includes(v)) verdicts.push(v);
  }
  if (verdicts.length === 0) verdicts.push(rc.verdict);
  return verdicts.map(verdictSymbol).join('') + (AGREEMENT_MARKS[rc.agreement] ?? '');
}

/** "refused (EINVAL)", "ok (resident-none)"; a verdict without a detail alone. */
export function outcomeLabel(verdict: string, detail: string | undefined): string {
  return detail ? `${verdict} (${detail})` : verdict;
}

/** The prediction: "kernel-complaint (bad-page-state), or also: oops, panic"; "none" without an expectation. */
export function expectedLabel(e: ReportExpectation | null): string {
  if (e === null) return 'none';
  const also = (e.also ?? []).map((o: Outcome) => outcomeLabel(o.verdict, o.detail));
  return outcomeLabel(e.verdict, e.detail) + (also.length > 0 ? `, or also: ${also.join(', ')}` : '');
}

/** One observation of the record: "ok on 6.12: seen on ...". */
export function observationLabel(o: Observation): string {
  return `${outcomeLabel(o.verdict, o.detail)} on ${o.series === '*' ? 'every series' : o.series}: ${o.note}`;
}

/** The observation record, one label per entry; empty when there is none. */
export function observationRecord(e: ReportExpectation | null): string[] {
  return (e?.observed ?? []).map(observationLabel);
}

/** What an agreement means, for people. */
export const AGREEMENT_TEXT: Readonly<Record<string, string>> = {
  agrees: 'meets its prediction',
  'as-recorded': 'contradicts its prediction, as recorded (observation record)',
  differs: 'differs from its prediction',
  flaky: 'flaky: runs disagree, some outcome neither predicted nor recorded',
  'no-expectation': 'no prediction for this kernel series',
};

export function agreementText(agreement: string): string {
  return AGREEMENT_TEXT[agreement] ?? agreement;
}

/**
 * The headline count: "458 cells: 440 meet their prediction, 18 only match
 * an observation record, 0 differ". Predictions met are counted apart from
 * cells that only matched what earlier runs showed.
 */
export function agreementCounts(cells: readonly Pick<ReportCell, 'agreement'>[]): string {
  const counts = new Map<string, number>();
  for (const c of cells) counts.set(c.agreement, (counts.get(c.agreement) ?? 0) + 1);
  const n = (a: string): number => counts.get(a) ?? 0;
  const parts = [`${n('agrees')} meet their prediction`, `${n('as-recorded')} only match an observation record`];
  if (n('differs') > 0) parts.push(`${n('differs')} differ`);
  if (n('flaky') > 0) parts.push(`${n('flaky')} flaky`);
  if (n('no-expectation') > 0) parts.push(`${n('no-expectation')} without prediction`);
  return `${cells.length} cell${cells.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** "3x ok, 2x kernel-complaint bad-page-state" (most frequent first). */
export function distributionLabel(distribution: Record<string, number>): string {
  return Object.entries(distribution)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n}x ${k}`)
    .join(', ');
}

/** "41 VMs (38 restored)", "1 VM" or "12 VMs (11 restored, 1 cold: why)". */
export function vmsLabel(k: ReportKernel): string {
  const n = `${k.boots} VM${k.boots === 1 ? '' : 's'}`;
  const restored = k.restored ?? 0;
  const why = k.coldFallbacks ?? [];
  if (restored === 0 && why.length === 0) return n;
  const parts = [`${restored} restored`, ...(why.length > 0 ? [`cold because ${why.join('; ')}`] : [])];
  return `${n} (${parts.join(', ')})`;
}

/** One line per option the kernel lacks, with the cells left out for it (none: empty). */
export function notApplicableLines(k: ReportKernel): string[] {
  return (k.notApplicable ?? []).map(notApplicableLine);
}

/** The report's kernels, then any kernel that only appears in its cells. */
export function reportKernels(report: MatrixReport): ReportKernel[] {
  const kernels = [...report.kernels];
  for (const rc of report.cells) {
    if (!kernels.some((k) => k.release === rc.kernel)) {
      kernels.push({ release: rc.kernel, series: rc.series, accel: 'unknown', boots: 0 });
    }
  }
  return kernels;
}

export function cellsOf(report: MatrixReport, kernel: string): ReportCell[] {
  return report.cells.filter((rc) => rc.kernel === kernel);
}

/**
 * The grid shows the plain cells: basic scenario, write-back cache, no
 * fault-around, at the allocator's own sizes (the catalogue's SIZES, where
 * every method is tried; the size sweep's other sizes are listed apart). An
 * allocator this mmaplab does not know shows at every size.
 */
export function isGridCell(c: CellSpec): boolean {
  const sizes = (SIZES as Partial<Record<string, readonly number[]>>)[c.alloc];
  return (
    c.scenario === 'basic' &&
    c.reserved === undefined &&
    c.splittable === undefined &&
    c.via === undefined &&
    (c.cache ?? 'wb') === 'wb' &&
    !(c.faultAround ?? false) &&
    (sizes === undefined || sizes.includes(c.size))
  );
}

export function sizeLabel(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}M`;
  return n % 1024 === 0 ? `${n / 1024}K` : `${n}B`;
}

export interface GridRow {
  alloc: string;
  size: number;
  label: string;
}

/** One square of the grid: the report's cell, or a catalogue cell not run, or no such cell. */
export type GridSlot = { kind: 'cell'; cell: ReportCell } | { kind: 'not-run'; id: string } | { kind: 'none' };

export interface Grid {
  kernel: string;
  rows: GridRow[];
  methods: string[];
  /** slots[row][method] */
  slots: GridSlot[][];
}

function orderBy<T extends string>(known: readonly T[], seen: Iterable<string>): string[] {
  const extra: string[] = [];
  const present = new Set(seen);
  for (const s of present) if (!(known as readonly string[]).includes(s) && !extra.includes(s)) extra.push(s);
  return [...(known as readonly string[]).filter((k) => present.has(k)), ...extra];
}

/**
 * Allocator (and size) x method for one kernel. Rows and columns come from
 * the catalogue and the report together, so a cell of a newer catalogue and a
 * catalogue cell this run skipped both have a place.
 */
export function gridFor(report: MatrixReport, kernel: string): Grid {
  const ran = cellsOf(report, kernel).filter((rc) => isGridCell(rc.cell));
  const specs: CellSpec[] = [...CATALOGUE.filter(isGridCell), ...ran.map((rc) => rc.cell)];
  const allocs = orderBy(
    CELL_ALLOCS,
    specs.map((c) => c.alloc),
  );
  const methods = orderBy(
    CELL_METHODS,
    specs.map((c) => c.method),
  );
  const rows: GridRow[] = [];
  for (const alloc of allocs) {
    const sizes = [...new Set(specs.filter((c) => c.alloc === alloc).map((c) => c.size))].sort((a, b) => a - b);
    for (const size of sizes) rows.push({ alloc, size, label: `${alloc} ${sizeLabel(size)}` });
  }
  const slots = rows.map((row) =>
    methods.map((method): GridSlot => {
      const at = (c: CellSpec): boolean => c.alloc === row.alloc && c.size === row.size && c.method === method;
      const rc = ran.find((x) => at(x.cell));
      if (rc) return { kind: 'cell', cell: rc };
      const spec = CATALOGUE.find((c) => isGridCell(c) && at(c));
      return spec ? { kind: 'not-run', id: spec.id } : { kind: 'none' };
    }),
  );
  return { kernel, rows, methods, slots };
}

/** Cells of a kernel neither grid shows (other scenarios and sizes, cache attributes, fault-around). */
export function otherCells(report: MatrixReport, kernel: string): ReportCell[] {
  return cellsOf(report, kernel).filter((rc) => !isGridCell(rc.cell) && rc.cell.scenario !== 'use');
}

/** A column of the uses grid: one method with the allocator it ran on. */
export interface UsesColumn {
  alloc: string;
  method: string;
  label: string;
}

export interface UsesRow {
  use: string;
  family: UseFamily | 'other';
  title: string;
}

export interface UsesGrid {
  kernel: string;
  columns: UsesColumn[];
  rows: UsesRow[];
  /** slots[row][column]: the report's cell, or none ran there. */
  slots: Array<Array<ReportCell | null>>;
}

/**
 * Use x method for one kernel, from the use cells it ran (null when it
 * ran none). Columns in the catalogue's method order; rows in the uses'
 * order, then any use of a newer catalogue.
 */
/** A use that runs at 2 MiB on every safe pair (the huge-page grid's), not on the scenario pairs. */
export function isPmdSizedUse(use: string | undefined): boolean {
  return use !== undefined && (PMD_SIZED_USES as readonly string[]).includes(use);
}

export function usesGridFor(report: MatrixReport, kernel: string): UsesGrid | null {
  const ran = cellsOf(report, kernel).filter(
    (rc) => rc.cell.scenario === 'use' && rc.cell.use !== undefined && !isPmdSizedUse(rc.cell.use),
  );
  if (ran.length === 0) return null;
  const columns: UsesColumn[] = [];
  for (const method of orderBy(
    CELL_METHODS,
    ran.map((rc) => rc.cell.method),
  )) {
    for (const alloc of orderBy(
      CELL_ALLOCS,
      ran.filter((rc) => rc.cell.method === method).map((rc) => rc.cell.alloc),
    )) {
      columns.push({ alloc, method, label: `${method} (${alloc})` });
    }
  }
  const uses = orderBy(
    USES,
    ran.map((rc) => rc.cell.use as string),
  );
  const rows: UsesRow[] = uses.map((use) =>
    isUse(use) ? { use, family: useFamily(use), title: useTitle(use) } : { use, family: 'other', title: use },
  );
  const slots = rows.map((row) =>
    columns.map((col) => ran.find((rc) => rc.cell.use === row.use && rc.cell.method === col.method && rc.cell.alloc === col.alloc) ?? null),
  );
  return { kernel, columns, rows, slots };
}

/** The huge-page grid of one kernel: a row per allocator/method pair, a column per huge-page use. */
export interface HugePageGrid {
  kernel: string;
  rows: { alloc: string; method: string; label: string }[];
  uses: string[];
  slots: Array<Array<ReportCell | null>>;
}

/** The huge-page uses (transparent huge pages always / madvise / never) of one kernel, or null when it ran none. */
export function hugePageGridFor(report: MatrixReport, kernel: string): HugePageGrid | null {
  const ran = cellsOf(report, kernel).filter((rc) => rc.cell.scenario === 'use' && isPmdSizedUse(rc.cell.use));
  if (ran.length === 0) return null;
  const uses = orderBy(
    PMD_SIZED_USES,
    ran.map((rc) => rc.cell.use as string),
  );
  const rows: HugePageGrid['rows'] = [];
  for (const alloc of orderBy(
    CELL_ALLOCS,
    ran.map((rc) => rc.cell.alloc),
  )) {
    for (const method of orderBy(
      CELL_METHODS,
      ran.filter((rc) => rc.cell.alloc === alloc).map((rc) => rc.cell.method),
    )) {
      rows.push({ alloc, method, label: `${alloc}/${method}` });
    }
  }
  const slots = rows.map((row) =>
    uses.map((use) => ran.find((rc) => rc.cell.alloc === row.alloc && rc.cell.method === row.method && rc.cell.use === use) ?? null),
  );
  return { kernel, rows, uses, slots };
}

/** The outcomes of a cell's runs, as a sorted key ("ok (resident-none)|refused (EINVAL)"). */
function outcomeSet(rc: ReportCell): string {
  return Object.keys(rc.distribution).sort().join('|');
}

/**
 * Cell ids whose outcomes differ between kernel series, among the kernels
 * that ran them: the behaviour changed from one series to the other.
 */
export function seriesDifferences(report: MatrixReport): Set<string> {
  const byId = new Map<string, Map<string, Set<string>>>();
  for (const rc of report.cells) {
    const series = byId.get(rc.cell.id) ?? new Map<string, Set<string>>();
    byId.set(rc.cell.id, series);
    const outcomes = series.get(rc.series) ?? new Set<string>();
    series.set(rc.series, outcomes);
    outcomes.add(outcomeSet(rc));
  }
  const out = new Set<string>();
  for (const [id, series] of byId) {
    const keys = [...series.values()].map((o) => [...o].sort().join('/'));
    if (keys.length > 1 && new Set(keys).size > 1) out.add(id);
  }
  return out;
}

/** Marks a slot of the uses grid whose outcome changed between kernel series. */
export const SERIES_DIFFERS_MARK = '‡';

/** The text of a uses-grid slot: symbols and marks, then the detail that tells outcomes apart. */
export function usesSlotText(rc: ReportCell, differs: ReadonlySet<string>): string {
  const mark = differs.has(rc.cell.id) ? SERIES_DIFFERS_MARK : '';
  return `${cellSymbol(rc)}${mark}${rc.detail ? ` ${rc.detail}` : ''}`;
}

/** Every cell that does not simply meet its prediction: as recorded, differs, flaky or without expectation. */
export function surprises(report: MatrixReport): ReportCell[] {
  return report.cells.filter((rc) => rc.agreement !== 'agrees');
}

/** Cells whose runs varied: flaky ones, and those whose every outcome the expectation explains. */
export function flakyCells(report: MatrixReport): ReportCell[] {
  return report.cells.filter((rc) => rc.agreement === 'flaky' || rc.varies);
}
