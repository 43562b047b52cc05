/** `mmaplab findings REPORT`: docs/findings.md and the README's findings block from one run's report. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReport } from '../report/build';
import { renderFindingsGlance, renderFindingsPage, replaceGlance } from '../report/findings';
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';
import type { CliOptions } from './args';

/** How a page names its report: relative to the page's directory's repository root, with '/' separators. */
function reportPathFor(reportFile: string): string {
  return path.relative(process.cwd(), path.resolve(reportFile)).split(path.sep).join('/');
}

function writeText(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (err) {
    throw new MmaplabError('EFINDINGS', `cannot write ${file}: ${(err as Error).message}`);
  }
}

export function findingsCommand(opts: CliOptions): number {
  const file = at(opts.args, 0, 'the report.json of findings');
  const report = readReport(file);
  const named = reportPathFor(file);
  const page = renderFindingsPage(report, named);
  if (opts.out === null) process.stdout.write(page);
  else writeText(opts.out, page);
  if (opts.readme !== null) {
    let text: string;
    try {
      text = fs.readFileSync(opts.readme, 'utf8');
    } catch (err) {
      throw new MmaplabError('EFINDINGS', `cannot read ${opts.readme}: ${(err as Error).message}`);
    }
    writeText(opts.readme, replaceGlance(text, renderFindingsGlance(report, named), opts.readme));
  }
  if (opts.out !== null || opts.readme !== null) {
    process.stdout.write(`findings from ${named} written to ${[opts.out, opts.readme].filter((x) => x !== null).join(' and ')}\n`);
  }
  return 0;
}
