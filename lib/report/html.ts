/**
 * report.html: one self-contained page (inline CSS and script, no network,
 * no external fonts). The grids per kernel, side by side, are built by the
 * page's script from the report embedded as JSON; clicking a cell (in a
 * grid, the claims or the surprises) shows its evidence in the details
 * panel. The claims, surprises and flaky tables are static HTML, readable
 * without the script. Every report text is HTML-escaped here or set with
 * textContent by the script.
 */
import { evaluateClaims, type ClaimKernelResult, type ClaimResult } from '../experiments/claims';
import { html, scriptJson } from './escape';
import { SCRIPT, STYLE } from './html-assets';
import { FILE_CLAIMS_HEAD, FILES_HEAD, fileClaimRows, fileRows } from './files-section';
import type { MatrixReport, ReportCell } from './schema';
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
  usesGridFor,
  usesSlotText,
  VERDICT_SYMBOLS,
  verdictSymbol,
  notApplicableLines,
  vmsLabel,
} from './view';
import { got } from '../util/at';

/** A cell as the page's script sees it: the report cell and its labels. */
export interface PageCell {
  symbol: string;
  outcome: string;
  /** The prediction. */
  expected: string;
  /** The observation record, one entry per observation. */
  recorded: string[];
  /** The agreement, for people. */
  agreement: string;
  distribution: string;
  rc: ReportCell;
}

/** The grid of one kernel: slots hold an index into cells, -1 for a catalogue cell not run, null for no cell. */
export interface PageGrid {
  kernel: string;
  rows: string[];
  methods: string[];
  slots: Array<Array<number | null>>;
}

export interface PageData {
  verdicts: string[];
  notRun: string;
  cells: PageCell[];
  grids: PageGrid[];
  /** Per kernel (same order as grids): indices of the cells the grid does not show. */
  others: number[][];
}

export function pageData(report: MatrixReport): PageData {
  const index = new Map<ReportCell, number>(report.cells.map((rc, i) => [rc, i]));
  const kernels = reportKernels(report);
  return {
    verdicts: Object.keys(VERDICT_SYMBOLS),
    notRun: NOT_RUN_SYMBOL,
    cells: report.cells.map((rc) => ({
      symbol: cellSymbol(rc),
      outcome: outcomeLabel(rc.verdict, rc.detail),
      expected: expectedLabel(rc.expectation),
      recorded: observationRecord(rc.expectation),
      agreement: agreementText(rc.agreement),
      distribution: distributionLabel(rc.distribution),
      rc,
    })),
    grids: kernels.map((k) => {
      const g = gridFor(report, k.release);
      return {
        kernel: k.release,
        rows: g.rows.map((r) => r.label),
        methods: g.methods,
        slots: g.slots.map((row) =>
          row.map((s) => (s.kind === 'cell' ? got(index, s.cell, 'the index of a grid cell') : s.kind === 'not-run' ? -1 : null)),
        ),
      };
    }),
    others: kernels.map((k) => otherCells(report, k.release).map((rc) => got(index, rc, 'the index of a cell'))),
  };
}

function verdictClass(verdict: string): string {
  return verdict in VERDICT_SYMBOLS ? `v-${verdict}` : 'v-unknown';
}

function sym(verdict: string, text: string): string {
  return `<span class="sym ${verdictClass(verdict)}">${html(text)}</span>`;
}

function cellLink(report: MatrixReport, rc: ReportCell): string {
  const i = report.cells.indexOf(rc);
  return `<a class="cell-link" href="#cell-${i}" data-cell="${i}">${html(rc.cell.id)}</a>`;
}

function header(report: MatrixReport): string {
  const env = report.environment;
  const kernels = reportKernels(report)
    .map((k) => `${k.release} (${k.accel}, ${vmsLabel(k)})`)
    .join(', ');
  return `<header><h1>mmaplab matrix report</h1><p>${html(
    `generated ${env.generated} by mmaplab ${env.mmaplab} (node ${env.node}) on ${env.host.os} ${env.host.release} ` +
      `${env.host.arch}, ${env.host.cpus} CPUs; target ${env.target}${env.qemu ? `, ${env.qemu}` : ''}; kernels: ${kernels}; ` +
      agreementCounts(report.cells),
  )}</p></header>`;
}

function legend(): string {
  const rows = LEGEND.map((l) => `<tr><td>${html(l.symbol)}</td><td>${html(l.meaning)}</td></tr>`).join('');
  return `<details><summary>Legend</summary><table class="legend">${rows}</table></details>`;
}

function kernelSections(report: MatrixReport): string {
  const sections = reportKernels(report).map(
    (k, i) =>
      `<section class="kernel" data-kernel="${html(k.release)}"><h2>${html(k.release)}</h2>` +
      `<p class="hint">series ${html(k.series)}, ${html(k.accel)}, ${html(vmsLabel(k))}</p>` +
      notApplicableLines(k)
        .map((l) => `<p class="hint">not run on this kernel: ${html(l)}</p>`)
        .join('') +
      `<div class="grid-host" id="grid-${i}"></div></section>`,
  );
  return (
    '<h2>Allocator x method</h2><p class="hint">Basic scenario, write-back cache, no fault-around, at each ' +
    "allocator's own sizes; every other cell is listed under its kernel's grid.</p>" +
    `<div class="kernels">${sections.join('')}</div>`
  );
}

function usesSection(report: MatrixReport): string {
  const differs = seriesDifferences(report);
  const grids = reportKernels(report)
    .map((k) => usesGridFor(report, k.release))
    .filter((g) => g !== null);
  if (grids.length === 0 && reportKernels(report).every((k) => hugePageGridFor(report, k.release) === null)) return '';
  const tables: string[] = grids.map((g) => {
    const head = `<tr><th>use</th>${g.columns.map((c) => `<th>${html(c.label)}</th>`).join('')}</tr>`;
    const rows = g.rows
      .map(
        (r, i) =>
          `<tr><td title="${html(r.title)}"><span class="mono">${html(r.use)}</span> <span class="hint">${html(r.family)}</span></td>` +
          (g.slots[i] ?? [])
            .map((rc) => {
              if (rc === null) return '<td></td>';
              const at = report.cells.indexOf(rc);
              const cls = differs.has(rc.cell.id) ? ' series-differs' : '';
              return `<td class="use${cls}" data-cell="${at}" title="${html(rc.headline)}">${sym(rc.verdict, usesSlotText(rc, differs))}</td>`;
            })
            .join('') +
          '</tr>',
      )
      .join('');
    return `<section class="uses"><h3>${html(g.kernel)}</h3><table class="list uses-grid">${head}${rows}</table></section>`;
  });
  const slot = (rc: ReportCell | null): string => {
    if (rc === null) return '<td></td>';
    const cls = differs.has(rc.cell.id) ? ' series-differs' : '';
    return `<td class="use${cls}" data-cell="${report.cells.indexOf(rc)}" title="${html(rc.headline)}">${sym(rc.verdict, usesSlotText(rc, differs))}</td>`;
  };
  for (const k of reportKernels(report)) {
    const g = hugePageGridFor(report, k.release);
    if (g === null) continue;
    const head = `<tr><th>pair</th>${g.uses.map((u) => `<th>${html(u)}</th>`).join('')}</tr>`;
    const rows = g.rows.map((r, i) => `<tr><td class="mono">${html(r.label)}</td>${(g.slots[i] ?? []).map(slot).join('')}</tr>`).join('');
    tables.push(
      `<section class="uses"><h3>${html(k.release)}: huge pages</h3><p class="hint">Each safe pair at 2 MiB, mapped again at a ` +
        '2 MiB-aligned address with the transparent huge page switch as the column says.</p>' +
        `<table class="list huge-page-grid">${head}${rows}</table></section>`,
    );
  }
  return (
    '<h2>Uses: what a program can do with each method</h2><p class="hint">Each use on one allocator per method; ' +
    'the symbol, then the errno, signal or what the use found; ‡ (highlighted) where the outcome differs between ' +
    'kernel series. Click a cell for its evidence.</p>' +
    tables.join('')
  );
}

function claimKernelCell(report: MatrixReport, k: ClaimKernelResult | undefined): string {
  if (!k) return '<td></td>';
  const cells = k.cells
    .map((c) => {
      const rc = report.cells.find((x) => x.kernel === k.kernel && x.cell.id === c.id) as ReportCell;
      return `<li>${sym(c.verdict, verdictSymbol(c.verdict))} ${cellLink(report, rc)} ${html(outcomeLabel(c.verdict, c.detail))}</li>`;
    })
    .join('');
  const notRun = k.notRun.length > 0 ? `<li class="hint">${k.notRun.length} catalogue cell(s) not in this run</li>` : '';
  return (
    `<td><span class="badge s-${k.status}">${html(k.status)}</span> ` +
    `<span class="hint">${k.counts.holds} hold, ${k.counts.fails} fail, ${k.counts.silent} silent</span>` +
    `<ul class="cells">${cells}${notRun}</ul></td>`
  );
}

function claimsTable(report: MatrixReport, results: readonly ClaimResult[]): string {
  const releases = reportKernels(report).map((k) => k.release);
  const head = `<tr><th>claim</th>${releases.map((r) => `<th>${html(r)}</th>`).join('')}</tr>`;
  const rows = results
    .map(
      (c) =>
        `<tr class="claim" data-claim="${html(c.id)}"><td><strong>${html(c.text)}</strong><br>` +
        `<span class="hint">${html(c.source)}; ${html(c.id)}: ${html(c.test)}</span></td>` +
        releases
          .map((r) =>
            claimKernelCell(
              report,
              c.kernels.find((k) => k.kernel === r),
            ),
          )
          .join('') +
        '</tr>',
    )
    .join('');
  return (
    '<h2>Claims</h2><p class="hint">Per kernel: supports when every informative run of the claim\'s cells ' +
    'holds, contradicts when none does, mixed, or untested.</p>' +
    `<table class="list claims">${head}${rows}</table>`
  );
}

function surprisesTable(report: MatrixReport): string {
  const list = surprises(report);
  if (list.length === 0) return '<h2>Surprises</h2><p>None: every cell met its prediction.</p>';
  const rows = list
    .map(
      (rc) =>
        `<tr><td>${html(rc.kernel)}</td><td>${cellLink(report, rc)}</td>` +
        `<td>${sym(rc.verdict, cellSymbol(rc))} ${html(outcomeLabel(rc.verdict, rc.detail))}</td>` +
        `<td>${html(agreementText(rc.agreement))}</td><td class="mono">${html(rc.headline)}</td>` +
        `<td>${html(expectedLabel(rc.expectation))}<br><span class="hint">${html(rc.expectation?.reason ?? 'no expectation for this kernel series')}</span>` +
        observationRecord(rc.expectation)
          .map((o) => `<br><span class="recorded">observation record: ${html(o)}</span>`)
          .join('') +
        '</td></tr>',
    )
    .join('');
  return (
    '<h2>Surprises</h2><table class="list surprises"><tr><th>kernel</th><th>cell</th><th>observed</th>' +
    `<th>vs prediction</th><th>headline</th><th>predicted and why; observation record</th></tr>${rows}</table>`
  );
}

function flakyTable(report: MatrixReport): string {
  const list = flakyCells(report);
  if (list.length === 0) return '<h2>Flaky cells</h2><p>None: every repeated cell gave the same outcome each run.</p>';
  const rows = list
    .map(
      (rc) =>
        `<tr><td>${html(rc.kernel)}</td><td>${cellLink(report, rc)}</td><td>${rc.runs.length}</td>` +
        `<td>${html(distributionLabel(rc.distribution))}</td></tr>`,
    )
    .join('');
  return `<h2>Flaky cells</h2><table class="list flaky"><tr><th>kernel</th><th>cell</th><th>runs</th><th>outcomes</th></tr>${rows}</table>`;
}

function plainTable(cls: string, head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${html(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`).join('');
  return `<table class="list ${cls}"><tr>${th}</tr>${trs}</table>`;
}

function filesSection(report: MatrixReport): string {
  const files = report.files;
  if (files === undefined) return '';
  const kernels = files.kernels.map((k) => k.kernel);
  return (
    '<section class="files"><h2>Files: how writes through a mapping reach the backing store</h2>' +
    '<p class="hint">Page cache, deferred I/O and a plain vmalloc mapping (the control): a pattern written ' +
    'through a shared mapping, one trigger, and what the store recorded (pages, ms after the writes, path).</p>' +
    plainTable('files-table', FILES_HEAD, fileRows(files.kernels)) +
    "<h3>The conversation's statements, measured</h3>" +
    plainTable('files-claims', FILE_CLAIMS_HEAD(kernels), fileClaimRows(files.claims, kernels)) +
    '</section>'
  );
}

function stoppedSection(report: MatrixReport): string {
  const stopped = report.stopped;
  if (stopped === undefined) return '';
  return (
    '<section class="stopped"><h2>Stopped early</h2>' +
    `<p>The run stopped before every selected cell ran: ${html(stopped.reason)}. This report holds the results it had.</p>` +
    `<ul>${stopped.notRun.map((l) => `<li>${html(l)}</li>`).join('')}</ul></section>`
  );
}

export function renderHtml(report: MatrixReport): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>mmaplab report ${html(report.environment.generated)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    header(report),
    stoppedSection(report),
    '<div class="layout"><main>',
    "<noscript><p>The grids and the details panel are built by this page's script; the tables below work without it.</p></noscript>",
    legend(),
    kernelSections(report),
    usesSection(report),
    claimsTable(report, evaluateClaims(report)),
    filesSection(report),
    surprisesTable(report),
    flakyTable(report),
    '</main><aside id="details"><p class="hint">Click a cell of a grid, a claim or a surprise to see its evidence: ' +
      'kmsg window, findings, taint gained, probe observation, expectation and every run.</p></aside></div>',
    `<script type="application/json" id="mmaplab-data">${scriptJson(pageData(report))}</script>`,
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
