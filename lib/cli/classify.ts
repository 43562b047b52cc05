/**
 * `mmaplab classify FILE|-`: the kernel-log classifier of lib/kmsg on a saved
 * log (see log-records.ts for the shapes it reads).
 */
import * as fs from 'node:fs';
import { summarize, type Finding } from '../kmsg';
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';
import type { CliOptions } from './args';
import { EXIT_FAILED, EXIT_OK } from './exit';
import { parseLogText, type ParsedLog } from './log-records';
import { classifyWindow } from '../kmsg';

export interface LogClassification {
  log: ParsedLog;
  findings: Finding[];
}

export function classifyLogText(text: string): LogClassification {
  const log = parseLogText(text);
  return { log, findings: classifyWindow(log.records) };
}

function findingLines(f: Finding, verbose: boolean): string[] {
  const out = [`line ${f.seq}: ${f.severity} ${f.kind}: ${f.line}`];
  if (f.reason !== undefined) out.push(`    because: ${f.reason}`);
  if (f.process !== undefined && !f.line.includes(f.process)) {
    out.push(`    task: ${f.process}${f.pid !== undefined ? ` (pid ${f.pid})` : ''}`);
  }
  if (verbose) for (const c of f.context) out.push(`    line ${c.seq}: ${c.line}`);
  return out;
}

/** The whole printout: every finding, then the summary. */
export function renderClassification(c: LogClassification, verbose = false): string {
  const shapes = Object.entries(c.log.formats)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const read = `${c.log.lines} line(s) read${shapes !== '' ? ` (${shapes})` : ''}`;
  if (c.findings.length === 0) return `no findings; ${read}`;
  const s = summarize(c.findings);
  const out: string[] = [];
  for (const f of c.findings) out.push(...findingLines(f, verbose));
  const counts = Object.entries(s.counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  out.push('', `${c.findings.length} finding(s), worst: ${s.severity}; ${counts}${s.oopses > 1 ? `; ${s.oopses} oopses` : ''}; ${read}`);
  if (s.headline !== null) out.push(`worst: line ${s.headline.seq}: ${s.headline.line}`);
  if (s.cause !== null && s.cause !== s.headline) out.push(`first: line ${s.cause.seq}: ${s.cause.line}`);
  return out.join('\n');
}

export function readLogInput(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new MmaplabError('ELOG', `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`);
  }
}

export function classifyCommand(opts: CliOptions): number {
  const c = classifyLogText(readLogInput(at(opts.args, 0, 'the log to classify')));
  process.stdout.write(`${renderClassification(c, opts.verbose)}\n`);
  return opts.failOnFindings && c.findings.length > 0 ? EXIT_FAILED : EXIT_OK;
}
