/**
 * The benchmark section of a report, in HTML and in Markdown. The HTML
 * needs no script and loads nothing: the charts are inline SVG drawn here,
 * and every table of bench-tables.ts follows them. Both formats lead with
 * the note on emulation (under TCG only the ratios mean anything) and the
 * targets, then give each kernel's figures, then the harness.
 */
import { sizeLabel, type TargetStatus } from '../bench/ratios';
import type { BenchReport } from '../bench/types';
import { addonChart, batchingCharts, faultAroundChart, harnessChart, throughputCharts, touchCharts } from './bench-charts';
import { barChartSvg, type BarChart } from './bench-svg';
import {
  harnessTable,
  kernelTables,
  matrixLine,
  restoreFailuresTable,
  restoreTable,
  targetsTable,
  targetSummaryTable,
  type BenchTable,
  type TableCell,
} from './bench-tables';
import { html, md } from './escape';

/** Styles the section adds to html-assets.ts's STYLE (whose tables and badges it reuses). */
export const BENCH_STYLE = `
.bench .tcg-note { margin: 10px 0; padding: 10px 14px; border-left: 6px solid var(--wrong); background: #fff3e0;
  font-size: 15px; }
.bench .charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; margin: 8px 0 12px; }
.bench figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; max-width: 100%; }
.bench figcaption { font-weight: bold; font-size: 13px; margin-bottom: 4px; }
.bench svg.chart { display: block; max-width: 100%; height: auto; }
.bench svg .na { fill: #90a4ae; font-style: italic; }
.bench svg .tick { fill: #546e7a; font-size: 10px; }
.bench section.bench-kernel { border-top: 2px solid #263238; margin-top: 20px; }
.bench table.list { margin-bottom: 6px; }
.bench table.list td { font-variant-numeric: tabular-nums; }
.bench .table-wrap { overflow-x: auto; max-width: 100%; }
/* Figure tables: a median and its range stay on one line; the wrapper scrolls instead. */
.bench table.figures td { white-space: nowrap; }
.bench h4 { font-size: 14px; margin: 14px 0 2px; }
.bench p.note { margin: 0 0 6px; font-size: 12px; }
`;

export const TCG_NOTE =
  'Measured under TCG emulation: absolute times are emulation times, not what this hardware does natively. ' +
  'Read the ratios between methods (measured side by side in the same VM), not the absolute numbers.';

const BADGE: Readonly<Record<TargetStatus, string>> = {
  met: 's-supports',
  'not met': 's-contradicts',
  'not measured': 's-untested',
};

function cellHtml(c: TableCell): string {
  if (typeof c === 'string') return `<td>${html(c)}</td>`;
  const badge = `<span class="badge ${BADGE[c.status]}" data-status="${html(c.status)}">${html(c.status)}</span>`;
  return `<td>${badge}${c.text === '' ? '' : ` ${html(c.text)}`}</td>`;
}

/** heading: null when the surrounding heading already names the table. */
function tableHtml(t: BenchTable, heading: 'h3' | 'h4' | null): string {
  const title = heading === null ? '' : `<${heading}>${html(t.title)}</${heading}>`;
  const head = `${title}<p class="note hint">${html(t.note)}</p>`;
  if (t.rows.length === 0) return `${head}<p class="empty" data-table="${html(t.id)}">None in this run.</p>`;
  const th = t.head.map((h) => `<th>${html(h)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${r.map(cellHtml).join('')}</tr>`).join('');
  const cls = `list bench-${html(t.id)}${t.figures ? ' figures' : ''}`;
  return `${head}<div class="table-wrap"><table class="${cls}"><tr>${th}</tr>${rows}</table></div>`;
}

function chartsHtml(charts: readonly BarChart[]): string {
  // A chart with nothing to draw says nothing the tables do not.
  const shown = charts.filter((c) => c.groups.length > 0);
  if (shown.length === 0) return '';
  const figs = shown.map((c) => `<figure><figcaption>${html(c.title)}</figcaption>${barChartSvg(c)}</figure>`);
  return `<div class="charts">${figs.join('')}</div>`;
}

function environmentLine(report: BenchReport): string {
  const e = report.environment;
  const o = report.options;
  return (
    `${e.accel}; host ${e.hostModel}, ${e.hostCpus} CPUs; guest ${e.guestCpus ?? '-'} CPUs, ${e.guestMemoryMb ?? '-'} MB; ` +
    `${o.reps} repetitions per figure, ${o.bootRuns} boots per path; sizes ${o.sizes.map(sizeLabel).join(', ')}; ` +
    `wc/uc ${o.cacheModes ? 'measured' : 'not measured'}; addon cycle in C ${o.cProgram === null ? 'not measured' : 'measured'}`
  );
}

export function benchSectionHtml(report: BenchReport): string {
  const parts: string[] = ['<section class="bench"><h2>Benchmarks: what each mapping method costs</h2>'];
  if (report.environment.accel === 'tcg') parts.push(`<p class="tcg-note"><strong>${html(TCG_NOTE)}</strong></p>`);
  parts.push(
    `<p class="hint">${html(environmentLine(report))}. Every ratio pairs two rows of the same kernel in this run.</p>`,
    tableHtml(targetSummaryTable(report), 'h3'),
  );
  for (const k of report.kernels) {
    parts.push(
      `<section class="bench-kernel" data-kernel="${html(k.kernel)}"><h3>${html(k.kernel)}</h3>`,
      chartsHtml([...touchCharts(k), ...throughputCharts(k), faultAroundChart(k), ...batchingCharts(k), addonChart(k)]),
      ...kernelTables(k).map((t) => tableHtml(t, 'h4')),
      '</section>',
    );
  }
  parts.push(
    '<section class="bench-harness"><h3>Harness</h3>',
    chartsHtml([harnessChart(report)]),
    tableHtml(harnessTable(report), null),
    tableHtml(restoreTable(report), 'h4'),
    tableHtml(restoreFailuresTable(report), 'h4'),
    `<p>${html(matrixLine(report))}</p>`,
    '</section>',
    tableHtml(targetsTable(report), 'h3'),
    '</section>',
  );
  return parts.join('\n');
}

function mdCell(c: TableCell): string {
  if (typeof c === 'string') return md(c);
  return `**${md(c.status)}**${c.text === '' ? '' : ` ${md(c.text)}`}`;
}

function tableMarkdown(t: BenchTable, level: string): string[] {
  const head = [`${level} ${md(t.title)}`, '', md(t.note), ''];
  if (t.rows.length === 0) return [...head, 'None in this run.', ''];
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [...head, line(t.head.map(md)), line(t.head.map(() => '---')), ...t.rows.map((r) => line(r.map(mdCell))), ''];
}

export function benchSectionMarkdown(report: BenchReport): string {
  const out: string[] = ['## Benchmarks: what each mapping method costs', ''];
  if (report.environment.accel === 'tcg') out.push(`> **${md(TCG_NOTE)}**`, '');
  out.push(`${md(environmentLine(report))}. Every ratio pairs two rows of the same kernel in this run.`, '');
  out.push(...tableMarkdown(targetSummaryTable(report), '###'));
  for (const k of report.kernels) {
    out.push(`### ${md(k.kernel)}`, '');
    for (const t of kernelTables(k)) out.push(...tableMarkdown(t, '####'));
  }
  out.push(...tableMarkdown(harnessTable(report), '###'));
  out.push(...tableMarkdown(restoreTable(report), '####'), ...tableMarkdown(restoreFailuresTable(report), '####'));
  out.push(md(matrixLine(report)), '');
  out.push(...tableMarkdown(targetsTable(report), '###'));
  return out.join('\n');
}
