/**
 * "What a program can do with each method", at a glance: from a report's
 * use cells, the uses whose outcome depends on the method as a table
 * (use x method, every kernel of the report in one entry), and the uses
 * that came out the same for every method as one line each. Pure, from
 * the report alone: report.md and the findings page (docs/findings.md)
 * carry it.
 */
import { CELL_METHODS } from '../experiments/types';
import { PMD_SIZED_USES, USES } from '../experiments/uses';
import type { MatrixReport, ReportCell } from './schema';

/** A cell's outcome in a word or two: "ok", "EFAULT", "SIGBUS", "ok: resident-none", "kernel-complaint (bad-page-state)". */
export function shortOutcome(rc: Pick<ReportCell, 'verdict' | 'detail' | 'distribution'>): string {
  const keys = Object.keys(rc.distribution);
  if (keys.length > 1) return `varies: ${keys.sort().join(', ')}`;
  if (rc.verdict === 'ok') return rc.detail ? `ok: ${rc.detail}` : 'ok';
  if ((rc.verdict === 'refused' || rc.verdict === 'user-signal') && rc.detail) return rc.detail;
  return rc.detail ? `${rc.verdict} (${rc.detail})` : rc.verdict;
}

/** One use's outcome per method, and whether every method had the same. */
export interface UsesSummaryRow {
  use: string;
  /** Per method (same order as the columns): the outcome over the kernels, '' if none ran. */
  entries: string[];
  uniform: boolean;
}

export interface UsesSummary {
  /** Methods, in the catalogue's order. */
  methods: string[];
  rows: UsesSummaryRow[];
  /** Pairs left out of the rows: every use refused with one errno, on every kernel (the mapping itself is refused). */
  refusedPairs: { pair: string; detail: string }[];
}

/** How many different uses a pair must have run, all refused alike, to be set aside as refused whatever the use. */
const REFUSED_PAIR_MIN_USES = 3;

/** Pairs whose every use cell was refused with the same errno on every kernel. */
function refusedWhateverTheUse(cells: readonly ReportCell[]): { pair: string; detail: string }[] {
  const byPair = new Map<string, ReportCell[]>();
  for (const rc of cells) {
    const key = `${rc.cell.alloc}/${rc.cell.method}`;
    byPair.set(key, [...(byPair.get(key) ?? []), rc]);
  }
  const out: { pair: string; detail: string }[] = [];
  for (const [pair, list] of byPair) {
    const outcomes = new Set(list.map((rc) => (rc.verdict === 'refused' && Object.keys(rc.distribution).length === 1 ? rc.detail : null)));
    const uses = new Set(list.map((rc) => rc.cell.use));
    const [only] = [...outcomes];
    if (outcomes.size === 1 && typeof only === 'string' && only !== '' && uses.size >= REFUSED_PAIR_MIN_USES)
      out.push({ pair, detail: only });
  }
  return out;
}

/** "ok" when every kernel agrees; "6.1: EFAULT; 6.12: ok" otherwise. */
function acrossKernels(cells: readonly ReportCell[]): string {
  const bySeries = new Map<string, Set<string>>();
  for (const rc of cells) {
    const s = bySeries.get(rc.series) ?? new Set<string>();
    bySeries.set(rc.series, s);
    s.add(shortOutcome(rc));
  }
  const per = [...bySeries].map(([series, outcomes]) => [series, [...outcomes].sort().join(' / ')] as const);
  const distinct = new Set(per.map(([, o]) => o));
  if (distinct.size <= 1) return per[0]?.[1] ?? '';
  return per.map(([series, o]) => `${series}: ${o}`).join('; ');
}

export function usesSummary(report: MatrixReport): UsesSummary {
  const all = report.cells.filter(
    (rc) => rc.cell.scenario === 'use' && rc.cell.use !== undefined && !(PMD_SIZED_USES as readonly string[]).includes(rc.cell.use),
  );
  const refusedPairs = refusedWhateverTheUse(all);
  const cells = all.filter((rc) => !refusedPairs.some((r) => r.pair === `${rc.cell.alloc}/${rc.cell.method}`));
  const known = CELL_METHODS as readonly string[];
  const methods = [...new Set(cells.map((rc) => rc.cell.method))].sort(
    (a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99),
  );
  const uses = [...new Set(cells.map((rc) => rc.cell.use as string))].sort(
    (a, b) => ((USES as readonly string[]).indexOf(a) + 1 || 999) - ((USES as readonly string[]).indexOf(b) + 1 || 999),
  );
  const rows = uses.map((use) => {
    const entries = methods.map((method) => {
      const mine = cells.filter((rc) => rc.cell.use === use && rc.cell.method === method);
      // Allocators of one method that disagree are shown apart.
      const byAlloc = new Map<string, ReportCell[]>();
      for (const rc of mine) byAlloc.set(rc.cell.alloc, [...(byAlloc.get(rc.cell.alloc) ?? []), rc]);
      const texts = [...byAlloc].map(([alloc, list]) => [alloc, acrossKernels(list)] as const);
      if (new Set(texts.map(([, t]) => t)).size <= 1) return texts[0]?.[1] ?? '';
      return texts.map(([alloc, t]) => `${alloc}: ${t}`).join('; ');
    });
    const ran = entries.filter((e) => e !== '');
    return { use, entries, uniform: new Set(ran).size <= 1 };
  });
  return { methods, rows, refusedPairs };
}

/**
 * The huge-page uses in a line each: the pairs by outcome, the most common
 * outcome last as "the other N pairs".
 */
export function hugePageSummaryLines(report: MatrixReport, escape: (s: string) => string = (s) => s): string[] {
  const out: string[] = [];
  for (const use of PMD_SIZED_USES) {
    const cells = report.cells.filter((rc) => rc.cell.scenario === 'use' && rc.cell.use === use);
    if (cells.length === 0) continue;
    const byPair = new Map<string, ReportCell[]>();
    for (const rc of cells) {
      const key = `${rc.cell.alloc}/${rc.cell.method}`;
      byPair.set(key, [...(byPair.get(key) ?? []), rc]);
    }
    const byOutcome = new Map<string, string[]>();
    for (const [pair, list] of byPair) {
      const o = acrossKernels(list);
      byOutcome.set(o, [...(byOutcome.get(o) ?? []), pair]);
    }
    const groups = [...byOutcome].sort((a, b) => a[1].length - b[1].length);
    const only = groups.length === 1 ? groups[0] : undefined;
    if (only !== undefined) {
      out.push(`- \`${use}\`: **${escape(only[0])}** for all ${only[1].length} pairs`);
      continue;
    }
    const parts = groups.map(([o, pairs], i) =>
      i === groups.length - 1 && groups.length > 1
        ? `**${escape(o)}** for the other ${pairs.length} pairs`
        : `**${escape(o)}** for ${pairs.map((p) => `\`${p}\``).join(', ')}`,
    );
    out.push(`- \`${use}\`: ${parts.join('; ')}`);
  }
  return out;
}

/** The summary as Markdown lines: the table of the uses that depend on the method, then the uniform ones. */
export function usesSummaryMarkdown(report: MatrixReport, escape: (s: string) => string = (s) => s): string[] {
  const s = usesSummary(report);
  if (s.rows.length === 0 && s.refusedPairs.length === 0 && hugePageSummaryLines(report).length === 0) return [];
  const varying = s.rows.filter((r) => !r.uniform);
  const out: string[] = [];
  if (varying.length > 0) {
    out.push(
      `| use | ${s.methods.map((t) => `\`${t}\``).join(' | ')} |`,
      `|---|${s.methods.map(() => '---').join('|')}|`,
      ...varying.map((r) => `| \`${r.use}\` | ${r.entries.map(escape).join(' | ')} |`),
      '',
    );
  }
  const uniform = new Map<string, string[]>();
  for (const r of s.rows.filter((x) => x.uniform)) {
    const outcome = r.entries.find((e) => e !== '') ?? '';
    uniform.set(outcome, [...(uniform.get(outcome) ?? []), r.use]);
  }
  for (const [outcome, uses] of uniform) {
    out.push(`- the same for every method, **${escape(outcome)}**: ${uses.map((u) => `\`${u}\``).join(', ')}`);
  }
  for (const { pair, detail } of s.refusedPairs) {
    out.push(`- left out above, **${escape(detail)}** whatever the use (the mapping itself is refused): \`${pair}\``);
  }
  const huge = hugePageSummaryLines(report, escape);
  if (huge.length > 0) out.push('', 'Huge pages (every safe pair at 2 MiB, at a 2 MiB-aligned address):', '', ...huge);
  return out;
}
