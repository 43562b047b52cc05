/**
 * report.md: per kernel the allocator x method grid of the basic cells,
 * the other cells, the claims and what each kernel's cells say about them,
 * the surprises (every cell not simply as expected) and the flaky cells.
 */
import { evaluateClaims, type ClaimResult } from '../experiments/claims';
import { md } from './escape';
import { FILE_CLAIMS_HEAD, FILES_HEAD, fileClaimRows, fileRows } from './files-section';
import type { MatrixReport, ReportCell } from './schema';
import { usesSummaryMarkdown } from './uses-summary';
import {
  agreementCounts,
  agreementText,
  cellSymbol,
  distributionLabel,
  expectedLabel,
  flakyCells,
  gridFor,
  LEGEND,
  NOT_RUN_SYMBOL,
  observationRecord,
  otherCells,
  outcomeLabel,
  reportKernels,
  seriesDifferences,
  surprises,
  hugePageGridFor,
  notApplicableLines,
  usesGridFor,
  usesSlotText,
  verdictSymbol,
  vmsLabel,
} from './view';

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

export function code(s: string): string {
  // Inline code cannot hold a '|' inside a table or a backtick; fall back to escaped text.
  return /[`|\n\r]/.test(s) ? md(s) : `\`${s}\``;
}

/** The report's kernels in one line: release (accelerator, VMs), ... */
export function kernelsLine(report: MatrixReport): string {
  return reportKernels(report)
    .map((k) => `${code(k.release)} (${md(k.accel)}, ${md(vmsLabel(k))})`)
    .join(', ');
}

function header(report: MatrixReport): string[] {
  const env = report.environment;
  const kernels = kernelsLine(report);
  return [
    '# mmaplab matrix report',
    '',
    `Generated ${md(env.generated)} by mmaplab ${md(env.mmaplab)} (node ${md(env.node)}) on ` +
      `${md(env.host.os)} ${md(env.host.release)} ${md(env.host.arch)}, ${env.host.cpus} CPUs; ` +
      `target ${md(env.target)}${env.qemu ? `, ${md(env.qemu)}` : ''}.`,
    '',
    `Kernels: ${kernels}. ${md(agreementCounts(report.cells))}.`,
    '',
  ];
}

function legend(): string[] {
  return [
    '## Legend',
    '',
    ...table(
      ['symbol', 'meaning'],
      LEGEND.map((l) => [md(l.symbol), md(l.meaning)]),
    ),
    '',
  ];
}

function grid(report: MatrixReport, kernel: string): string[] {
  const g = gridFor(report, kernel);
  const rows = g.rows.map((r, i) => [
    code(r.label),
    ...(g.slots[i] ?? []).map((s) => (s.kind === 'cell' ? md(cellSymbol(s.cell)) : s.kind === 'not-run' ? NOT_RUN_SYMBOL : '')),
  ]);
  return table(['allocator \\ method', ...g.methods.map(code)], rows);
}

function others(cells: readonly ReportCell[]): string[] {
  if (cells.length === 0) return [];
  return [
    '',
    `<details><summary>Other cells (${cells.length}): other scenarios and sizes, cache attributes, fault-around</summary>`,
    '',
    ...table(
      ['cell', 'verdict', 'predicted'],
      cells.map((rc) => [
        code(rc.cell.id),
        `${md(cellSymbol(rc))} ${md(outcomeLabel(rc.verdict, rc.detail))}`,
        md(expectedLabel(rc.expectation)),
      ]),
    ),
    '',
    '</details>',
  ];
}

function usesSection(report: MatrixReport, kernel: string, differs: ReadonlySet<string>): string[] {
  const g = usesGridFor(report, kernel);
  if (g === null) return [];
  const rows = g.rows.map((r, i) => [
    `${code(r.use)} (${md(r.family)})`,
    ...(g.slots[i] ?? []).map((rc) => (rc === null ? '' : md(usesSlotText(rc, differs)))),
  ]);
  return [
    '',
    `### Uses on ${md(kernel)}`,
    '',
    'What a program does with the mapping, per method (on the allocator in brackets): the symbol, then the errno, ' +
      'signal or what the use found. ‡: the outcome differs between kernel series.',
    '',
    ...table(['use \\ method', ...g.columns.map((c) => code(c.label))], rows),
  ];
}

function hugePageSection(report: MatrixReport, kernel: string, differs: ReadonlySet<string>): string[] {
  const g = hugePageGridFor(report, kernel);
  if (g === null) return [];
  const rows = g.rows.map((r, i) => [code(r.label), ...(g.slots[i] ?? []).map((rc) => (rc === null ? '' : md(usesSlotText(rc, differs))))]);
  return [
    '',
    `### Huge pages on ${md(kernel)}`,
    '',
    'Each safe pair at 2 MiB, mapped again at a 2 MiB-aligned address with the transparent huge page switch set as ' +
      'the column says: pmd-mapped when smaps counts the whole mapping in FilePmdMapped.',
    '',
    ...table(['pair \\ use', ...g.uses.map(code)], rows),
  ];
}

function kernels(report: MatrixReport): string[] {
  const out: string[] = [];
  const differs = seriesDifferences(report);
  for (const k of reportKernels(report)) {
    out.push(
      `## ${md(k.release)}`,
      '',
      ...notApplicableLines(k).map((l) => `Not run on this kernel: ${md(l)}.\n`),
      `Series ${md(k.series)}. Basic scenario, write-back cache, no fault-around, at each allocator's own sizes:`,
      '',
    );
    out.push(
      ...grid(report, k.release),
      ...others(otherCells(report, k.release)),
      ...usesSection(report, k.release, differs),
      ...hugePageSection(report, k.release, differs),
      '',
    );
  }
  return out;
}

function claimRow(c: ClaimResult, kernelOrder: readonly string[]): string[] {
  const ids = [...new Set(c.kernels.flatMap((k) => k.cells.map((x) => x.id)))];
  const cellsCol = ['*status*', ...ids.map(code)].join('<br>');
  const perKernel = kernelOrder.map((release) => {
    const k = c.kernels.find((x) => x.kernel === release);
    if (!k) return '';
    const lines = [`**${k.status}** (${k.counts.holds} hold, ${k.counts.fails} fail)`];
    for (const id of ids) {
      const cell = k.cells.find((x) => x.id === id);
      lines.push(cell ? `${verdictSymbol(cell.verdict)} ${md(outcomeLabel(cell.verdict, cell.detail))}` : NOT_RUN_SYMBOL);
    }
    return lines.join('<br>');
  });
  const claim = `**${md(c.text)}** (${md(c.source)}; ${code(c.id)})<br>${md(c.test)}`;
  return [claim, cellsCol, ...perKernel];
}

function claims(report: MatrixReport): string[] {
  const releases = reportKernels(report).map((k) => k.release);
  const results = evaluateClaims(report);
  return [
    '## Claims',
    '',
    'Each claim against the cells that test it; per kernel, whether the runs of those cells support it ' +
      '(every informative run holds), contradict it (none does), are mixed, or leave it untested.',
    '',
    ...table(
      ['claim', 'cells', ...releases.map(code)],
      results.map((c) => claimRow(c, releases)),
    ),
    '',
  ];
}

function usesAtAGlance(report: MatrixReport): string[] {
  const lines = usesSummaryMarkdown(report, md);
  if (lines.length === 0) return [];
  return [
    '## Uses at a glance',
    '',
    'What a program can do with each method (every kernel of this report; "6.1: x; 6.12: y" where they differ): ' +
      'the uses whose outcome depends on the method, then those that came out the same for all.',
    '',
    ...lines,
    '',
  ];
}

function surpriseSection(report: MatrixReport): string[] {
  const list = surprises(report);
  const out = ['## Surprises', ''];
  if (list.length === 0) return [...out, 'None: every cell met its prediction.', ''];
  for (const rc of list) {
    out.push(
      `- ${code(rc.kernel)} ${code(rc.cell.id)}: ${md(cellSymbol(rc))} **${md(outcomeLabel(rc.verdict, rc.detail))}** (${md(agreementText(rc.agreement))})`,
      `  - observed: ${md(rc.headline)}`,
      `  - predicted: ${md(expectedLabel(rc.expectation))}${rc.expectation ? ` - ${md(rc.expectation.reason)}` : ''}`,
      ...observationRecord(rc.expectation).map((o) => `  - observation record: ${md(o)}`),
    );
  }
  return [...out, ''];
}

function flakySection(report: MatrixReport): string[] {
  const list = flakyCells(report);
  const out = ['## Flaky cells', ''];
  if (list.length === 0) return [...out, 'None: every repeated cell gave the same outcome each run.', ''];
  return [
    ...out,
    ...table(
      ['kernel', 'cell', 'runs', 'outcomes'],
      list.map((rc) => [code(rc.kernel), code(rc.cell.id), String(rc.runs.length), md(distributionLabel(rc.distribution))]),
    ),
    '',
  ];
}

function filesSection(report: MatrixReport): string[] {
  const files = report.files;
  if (files === undefined) return [];
  const kernels = files.kernels.map((k) => k.kernel);
  return [
    '## Files: how writes through a mapping reach the backing store',
    '',
    'Page cache, deferred I/O and a plain vmalloc mapping (the control): a pattern written through a shared ' +
      'mapping, one trigger, and what the store recorded (pages, ms after the writes, path).',
    '',
    ...table(
      FILES_HEAD,
      fileRows(files.kernels).map((r) => r.map(md)),
    ),
    '',
    "### The conversation's statements, measured",
    '',
    ...table(
      FILE_CLAIMS_HEAD(kernels.map(code)),
      fileClaimRows(files.claims, kernels).map((r) => r.map(md)),
    ),
    '',
  ];
}

function stoppedSection(report: MatrixReport): string[] {
  const stopped = report.stopped;
  if (stopped === undefined) return [];
  return [
    '## Stopped early',
    '',
    `The run stopped before every selected cell ran: ${md(stopped.reason)}. This report holds the results it had.`,
    '',
    ...stopped.notRun.map((l) => `- ${md(l)}`),
    '',
  ];
}

export function renderMarkdown(report: MatrixReport): string {
  return [
    ...header(report),
    ...stoppedSection(report),
    ...legend(),
    ...kernels(report),
    ...claims(report),
    ...usesAtAGlance(report),
    ...filesSection(report),
    ...surpriseSection(report),
    ...flakySection(report),
  ].join('\n');
}
