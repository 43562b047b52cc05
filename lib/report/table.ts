/**
 * The terminal table: kernel x cell x verdict, the prediction, whether the
 * verdict meets it (or only its observation record: "as-recorded") and the
 * evidence line for anything not ok.
 */
import { compare, expectationFor } from '../experiments/expectations';
import type { CellResult } from '../experiments/types';
import { seriesOf } from '../vm/kernels';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export interface TableRow {
  kernel: string;
  cell: string;
  verdict: string;
  expected: string;
  agreement: string;
}

function tableRow(r: CellResult): TableRow {
  const series = seriesOf(r.kernel);
  const e = expectationFor(r.cell, series);
  const more = (e?.also ?? []).length;
  const expected = e ? `${e.verdict}${e.detail ? ` (${e.detail})` : ''}${more > 0 ? ` or ${more} more` : ''}` : '-';
  const verdict = `${r.verdict}${r.detail ? ` (${r.detail})` : ''}`;
  return { kernel: r.kernel, cell: r.cell.id, verdict, expected, agreement: compare(r.cell, series, r.verdict, r.detail) };
}

export function tableRows(results: readonly CellResult[]): TableRow[] {
  return results.map(tableRow);
}

export function renderTable(results: readonly CellResult[]): string {
  const body = results.map((r) => ({ row: tableRow(r), evidence: r.verdict !== 'ok' ? r.headline : null }));
  const rows = body.map((b) => b.row);
  const head: TableRow = { kernel: 'kernel', cell: 'cell', verdict: 'verdict', expected: 'predicted', agreement: 'vs prediction' };
  const cols: Array<keyof TableRow> = ['kernel', 'cell', 'verdict', 'expected', 'agreement'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))])) as Record<
    keyof TableRow,
    number
  >;
  const line = (r: TableRow): string =>
    cols
      .map((c) => pad(r[c], width[c]))
      .join('  ')
      .trimEnd();
  const out = [
    line(head),
    cols
      .map((c) => '-'.repeat(width[c]))
      .join('  ')
      .trimEnd(),
  ];
  for (const { row, evidence } of body) {
    out.push(line(row));
    if (evidence !== null) out.push(`    evidence: ${evidence}`);
  }
  return out.join('\n');
}

export interface Tally {
  cell: string;
  kernel: string;
  counts: Record<string, number>;
  runs: number;
}

/** Verdict counts per kernel x cell over repeated runs ("5/5 ok"). */
export function tally(results: readonly CellResult[]): Tally[] {
  const map = new Map<string, Tally>();
  for (const r of results) {
    const key = `${r.kernel}\0${r.cell.id}`;
    let t = map.get(key);
    if (!t) {
      t = { cell: r.cell.id, kernel: r.kernel, counts: {}, runs: 0 };
      map.set(key, t);
    }
    const v = r.detail ? `${r.verdict} (${r.detail})` : r.verdict;
    t.counts[v] = (t.counts[v] ?? 0) + 1;
    t.runs++;
  }
  return [...map.values()];
}

export function renderTally(results: readonly CellResult[]): string {
  return tally(results)
    .map((t) => {
      const parts = Object.entries(t.counts).map(([v, n]) => `${n}/${t.runs} ${v}`);
      return `${t.kernel}  ${t.cell}: ${parts.join(', ')}`;
    })
    .join('\n');
}
