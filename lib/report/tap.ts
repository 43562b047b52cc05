/**
 * report.tap (TAP version 14): one test point per kernel x cell, "ok" only
 * when the cell agrees with its expectation. Every point carries a YAML
 * diagnostic block: expected, observed, agreement, reason, headline (and the
 * run distribution when there was more than one run).
 */
import { yamlString } from './escape';
import type { MatrixReport, ReportCell } from './schema';
import { distributionLabel, expectedLabel, outcomeLabel, reportKernels } from './view';

/** A test point description: one line, '#' and '\' escaped (TAP 14). */
function description(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

function diagnostic(rc: ReportCell): string[] {
  const fields: Array<[string, string]> = [
    ['expected', expectedLabel(rc.expectation)],
    ['observed', outcomeLabel(rc.verdict, rc.detail)],
    ['agreement', rc.agreement],
    ['reason', rc.expectation?.reason ?? 'no expectation for this kernel series'],
    ['headline', rc.headline],
  ];
  if (rc.runs.length > 1) fields.push(['runs', distributionLabel(rc.distribution)]);
  return ['  ---', ...fields.map(([k, v]) => `  ${k}: ${yamlString(v)}`), '  ...'];
}

export function renderTap(report: MatrixReport): string {
  // Kernel by kernel, in the report's kernel order.
  const cells = reportKernels(report).flatMap((k) => report.cells.filter((rc) => rc.kernel === k.release));
  const out = ['TAP version 14', `1..${cells.length}`];
  cells.forEach((rc, i) => {
    const status = rc.agreement === 'agrees' ? 'ok' : 'not ok';
    out.push(`${status} ${i + 1} - ${description(`${rc.kernel} ${rc.cell.id}: ${outcomeLabel(rc.verdict, rc.detail)}`)}`);
    out.push(...diagnostic(rc));
  });
  return `${out.join('\n')}\n`;
}
