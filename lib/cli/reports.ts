/** Writing every report format of a MatrixReport into a directory. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MatrixReport } from '../report/schema';

/** Writes the reports; returns the files written. */
export function writeAll(dir: string, report: MatrixReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  // Until lib/report/write.ts lands: report.json alone.
  const file = path.join(dir, 'report.json');
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return [file];
}
