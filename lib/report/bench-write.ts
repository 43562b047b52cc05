/**
 * The outputs of `mmaplab bench` in one directory: bench.json (the source
 * of truth, readable back with readBenchReport), bench.md, and report.html,
 * a standalone page holding the benchmark section. As write.ts does for
 * the matrix: everything is rendered before the first file is written, so
 * a rendering bug leaves no half-written set behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchReport } from '../bench/types';
import { MmaplabError } from '../util/errors';
import { BENCH_STYLE, benchSectionHtml, benchSectionMarkdown } from './bench-section';
import { html, md } from './escape';
import { STYLE } from './html-assets';

function kernelList(report: BenchReport): string {
  return report.kernels.map((k) => k.kernel).join(', ') || 'none';
}

/** report.html of a bench run: no script, no external asset; html-assets.ts's look plus the section's styles. */
export function renderBenchHtml(report: BenchReport): string {
  const e = report.environment;
  const summary = `created ${report.createdAt}; ${e.accel} on ${e.hostModel} (${e.hostCpus} CPUs); ` + `kernels: ${kernelList(report)}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>mmaplab bench ${html(report.createdAt)}</title>`,
    `<style>${STYLE}${BENCH_STYLE}main.bench-page { padding: 4px 20px 20px; }</style></head><body>`,
    `<header><h1>mmaplab bench report</h1><p>${html(summary)}</p></header>`,
    '<main class="bench-page">',
    benchSectionHtml(report),
    '</main></body></html>',
    '',
  ].join('\n');
}

export function renderBenchMarkdown(report: BenchReport): string {
  const e = report.environment;
  return [
    '# mmaplab bench report',
    '',
    `Created ${md(report.createdAt)}; ${md(e.accel)} on ${md(e.hostModel)} (${e.hostCpus} CPUs); kernels: ${md(kernelList(report))}.`,
    '',
    benchSectionMarkdown(report),
  ].join('\n');
}

/** Renders bench.json, bench.md and report.html, then writes them into outDir (created if needed); MmaplabError 'EREPORTWRITE' if it cannot take them. */
export function writeBenchOutputs(report: BenchReport, outDir: string): { json: string; html: string; md: string } {
  const files = {
    json: path.join(outDir, 'bench.json'),
    md: path.join(outDir, 'bench.md'),
    html: path.join(outDir, 'report.html'),
  };
  const rendered: ReadonlyArray<[string, string]> = [
    [files.json, `${JSON.stringify(report, null, 2)}\n`],
    [files.md, renderBenchMarkdown(report)],
    [files.html, renderBenchHtml(report)],
  ];
  try {
    fs.mkdirSync(outDir, { recursive: true });
    for (const [file, text] of rendered) fs.writeFileSync(file, text);
  } catch (err) {
    throw new MmaplabError('EREPORTWRITE', `cannot write the bench outputs into ${outDir}: ${(err as Error).message}`, { dir: outDir });
  }
  return files;
}
