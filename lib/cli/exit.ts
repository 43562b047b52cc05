/**
 * Exit statuses, the same for every command that judges cells (matrix, run,
 * merge): 0 when every cell meets its prediction or matches its observation
 * record; 1 when one differs, is flaky (its runs disagree) or has no
 * expectation, unless --no-fail; 2 for a usage error. A failure of mmaplab itself (no QEMU, a VM that never
 * reached its agent) is 1 too, with the message saying which.
 */
import type { MatrixReport, ReportCell } from '../report/schema';
import { agreementCounts } from '../report/view';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * Cells that make a run fail: anything but 'agrees' and 'as-recorded' (a
 * known surprise: shown in every report and counted apart, but recorded).
 */
export function failingCells(report: Pick<MatrixReport, 'cells'>): ReportCell[] {
  return report.cells.filter((c) => c.agreement !== 'agrees' && c.agreement !== 'as-recorded');
}

export function agreementExit(report: Pick<MatrixReport, 'cells'>, noFail: boolean): number {
  return noFail || failingCells(report).length === 0 ? EXIT_OK : EXIT_FAILED;
}

/** "12 cells: 9 meet their prediction, 1 only match an observation record, 1 differ, 1 flaky". */
export function agreementSummary(report: Pick<MatrixReport, 'cells'> & Partial<Pick<MatrixReport, 'kernels'>>): string {
  const left = (report.kernels ?? []).reduce((n, k) => n + (k.notApplicable ?? []).reduce((m, a) => m + a.cells.length, 0), 0);
  return `${agreementCounts(report.cells)}${left > 0 ? `; ${left} not applicable (the kernel lacks an option they need)` : ''}`;
}
