/**
 * Writes a report in every format into one directory: report.json (the
 * source of truth, readable back with readReport), junit.xml, report.tap,
 * report.md and report.html.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { renderHtml } from './html';
import { renderJunit } from './junit';
import { renderMarkdown } from './markdown';
import type { MatrixReport } from './schema';
import { renderTap } from './tap';

const FORMATS: ReadonlyArray<[string, (r: MatrixReport) => string]> = [
  ['report.json', (r) => `${JSON.stringify(r, null, 2)}\n`],
  ['junit.xml', renderJunit],
  ['report.tap', renderTap],
  ['report.md', renderMarkdown],
  ['report.html', renderHtml],
];

/** Renders every format, then writes them; returns the paths written. MmaplabError 'EREPORTWRITE' if the directory cannot take them. */
export function writeReports(dir: string, report: MatrixReport): string[] {
  const rendered = FORMATS.map(([name, render]) => [path.join(dir, name), render(report)] as const);
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of rendered) fs.writeFileSync(file, text);
  } catch (err) {
    throw new MmaplabError('EREPORTWRITE', `cannot write the reports into ${dir}: ${(err as Error).message}`, { dir });
  }
  return rendered.map(([file]) => file);
}
