/** `mmaplab report DIR`: every format written again from DIR/report.json alone. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../report/build';
import { at } from '../util/at';
import type { CliOptions } from './args';
import { agreementSummary } from './exit';
import { writeAll } from './reports';

/** DIR, or a report.json file itself (its directory is the output). */
export function reportDirOf(arg: string): { dir: string; file: string } {
  const isFile = fs.existsSync(arg) && fs.statSync(arg).isFile();
  const dir = isFile ? path.dirname(arg) : arg;
  return { dir, file: isFile ? arg : path.join(dir, 'report.json') };
}

export function reportCommand(opts: CliOptions): number {
  const { dir, file } = reportDirOf(at(opts.args, 0, 'the report directory'));
  const report = readReport(file);
  const files = writeAll(dir, report);
  process.stdout.write(`${agreementSummary(report)}; written in ${dir}: ${files.map((f) => path.basename(f)).join(', ')}\n`);
  return 0;
}
