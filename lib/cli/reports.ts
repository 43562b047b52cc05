/** Every report format of a MatrixReport, written into one directory. */
import type { MatrixReport } from '../report/schema';
import { writeReports } from '../report/write';

/** Writes report.json, junit.xml, report.tap, report.md and report.html; returns the files written. */
export function writeAll(dir: string, report: MatrixReport): string[] {
  return writeReports(dir, report);
}
