/**
 * Exit statuses, the same for every command that judges cells (matrix, run,
 * merge): 0 when every cell agrees with its expectation; 1 when one differs,
 * is flaky (its runs disagree) or has no expectation, unless --no-fail; 2 for
 * a usage error. A failure of mmaplab itself (no QEMU, a VM that never
 * reached its agent) is 1 too, with the message saying which.
 */
import type { MatrixReport, ReportCell } from '../report/schema';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Cells that make a run fail: anything but 'agrees'. */
export function failingCells(report: Pick<MatrixReport, 'cells'>): ReportCell[] {
  return report.cells.filter((c) => c.agreement !== 'agrees');
}

export function agreementExit(report: Pick<MatrixReport, 'cells'>, noFail: boolean): number {
  return noFail || failingCells(report).length === 0 ? EXIT_OK : EXIT_FAILED;
}

/** "12 cells: 10 agree, 1 differs, 1 flaky". */
export function agreementSummary(report: Pick<MatrixReport, 'cells'>): string {
  const counts = new Map<string, number>();
  for (const c of report.cells) counts.set(c.agreement, (counts.get(c.agreement) ?? 0) + 1);
  const name: Record<string, string> = { agrees: 'agree', differs: 'differ', flaky: 'flaky', 'no-expectation': 'without expectation' };
  const parts = ['agrees', 'differs', 'flaky', 'no-expectation']
    .filter((a) => counts.has(a))
    .map((a) => `${counts.get(a) as number} ${name[a] as string}`);
  const n = report.cells.length;
  return `${n} cell${n === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}
