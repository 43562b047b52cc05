/**
 * report.tap (TAP version 14): one test point per kernel x cell, "ok" only
 * when the cell meets its prediction. A cell that contradicts its prediction
 * as its observation record shows earlier runs did is "not ok ... # TODO"
 * (a known failure of the prediction, which TAP consumers do not count as a
 * failure). Every point carries a YAML diagnostic block: predicted,
 * observed, agreement, reason, recorded (the observation record), headline (and the run
 * distribution when there was more than one run).
 */
import { yamlString } from './escape';
import type { MatrixReport, ReportCell } from './schema';
import { agreementText, distributionLabel, expectedLabel, observationRecord, outcomeLabel, reportKernels } from './view';

/** A test point description: one line, '#' and '\' escaped (TAP 14). */
function description(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/\\/g, '\\\\')
    .replace(/#/g, '\\#');
}

function diagnostic(rc: ReportCell): string[] {
  const fields: Array<[string, string]> = [
    ['predicted', expectedLabel(rc.expectation)],
    ['observed', outcomeLabel(rc.verdict, rc.detail)],
    ['agreement', rc.agreement],
    ['reason', rc.expectation?.reason ?? 'no expectation for this kernel series'],
    ...(rc.expectation?.observed ? [['recorded', observationRecord(rc.expectation).join('; ')] as [string, string]] : []),
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
    const todo = rc.agreement === 'as-recorded' ? ` # TODO ${description(agreementText(rc.agreement))}` : '';
    out.push(`${status} ${i + 1} - ${description(`${rc.kernel} ${rc.cell.id}: ${outcomeLabel(rc.verdict, rc.detail)}`)}${todo}`);
    out.push(...diagnostic(rc));
  });
  return `${out.join('\n')}\n`;
}
