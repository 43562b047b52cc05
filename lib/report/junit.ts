/**
 * junit.xml: one <testsuite> per kernel, one <testcase> per cell (name = cell
 * id, classname = kernel). A cell passes when it meets its prediction, or
 * contradicts it as its observation record shows earlier runs did (then its
 * <system-out> starts by saying so, with the record); nothing is ever
 * <skipped>:
 *
 * - <error>: the harness or the VM failed - an 'error' verdict in any run, or a
 *   panic/hang neither the prediction nor the observation record holds;
 * - <failure type="differs">: the prediction and its reason, the observed headline;
 * - <failure type="flaky">: the runs disagree; the distribution;
 * - <failure type="no-expectation">: nothing predicts this cell on this series.
 *
 * Each testcase's <system-out> holds every run's evidence (kmsg window,
 * findings, taint gained).
 */
import { stuckTaskLines, type CellResult } from '../experiments/types';
import { xmlAttr, xmlText } from './escape';
import type { MatrixReport, ReportCell } from './schema';
import { agreementText, cellsOf, distributionLabel, expectedLabel, observationRecord, outcomeLabel, reportKernels } from './view';

type Problem = { element: 'error' | 'failure'; type: string; message: string; body: string } | null;

/** The prediction or the observation record holds this verdict. */
function foreseen(rc: ReportCell, verdict: string): boolean {
  const e = rc.expectation;
  return e !== null && [e, ...(e.also ?? []), ...(e.observed ?? [])].some((o) => o.verdict === verdict);
}

/** The run that makes this cell a harness/VM crash, if any. */
function crashRun(rc: ReportCell): CellResult | undefined {
  return rc.runs.find((r) => r.verdict === 'error' || ((r.verdict === 'panic' || r.verdict === 'hang') && !foreseen(rc, r.verdict)));
}

function observedText(rc: ReportCell): string {
  return `observed: ${outcomeLabel(rc.verdict, rc.detail)}\nheadline: ${rc.headline}`;
}

function expectedText(rc: ReportCell): string {
  const e = rc.expectation;
  if (e === null) return 'predicted: (no expectation)';
  const record = observationRecord(e)
    .map((o) => `\nobservation record: ${o}`)
    .join('');
  return `predicted: ${expectedLabel(e)} (rule ${e.rule})\nreason: ${e.reason}${record}`;
}

function problemOf(rc: ReportCell): Problem {
  const crash = crashRun(rc);
  if (crash) {
    const what = crash.verdict === 'error' ? 'mmaplab failed' : `unpredicted ${crash.verdict}`;
    return {
      element: 'error',
      type: crash.verdict,
      message: `${what}: ${crash.headline}`,
      body: `${expectedText(rc)}\nrun outcomes: ${distributionLabel(rc.distribution)}\n${observedText(rc)}`,
    };
  }
  switch (rc.agreement) {
    case 'agrees':
    case 'as-recorded':
      return null;
    case 'differs':
      return {
        element: 'failure',
        type: 'differs',
        message: `predicted ${expectedLabel(rc.expectation)}, observed ${outcomeLabel(rc.verdict, rc.detail)}: ${rc.headline}`,
        body: `${expectedText(rc)}\n${observedText(rc)}`,
      };
    case 'flaky':
      return {
        element: 'failure',
        type: 'flaky',
        message: `runs disagree: ${distributionLabel(rc.distribution)}`,
        body: `run outcomes: ${distributionLabel(rc.distribution)}\n${expectedText(rc)}\n${observedText(rc)} (first run)`,
      };
    default:
      return {
        element: 'failure',
        type: 'no-expectation',
        message: `no expectation for this cell on kernel series ${rc.series}; observed ${outcomeLabel(rc.verdict, rc.detail)}`,
        body: observedText(rc),
      };
  }
}

function evidenceText(rc: ReportCell): string {
  const out: string[] = [];
  if (rc.agreement === 'as-recorded') out.push(`${agreementText(rc.agreement)}`, expectedText(rc), '');
  rc.runs.forEach((r, i) => {
    out.push(`run ${i + 1}: ${outcomeLabel(r.verdict, r.detail)} - ${r.headline}`);
    const ev = r.evidence;
    if (ev.taintGained.length > 0) out.push(`taint gained: ${ev.taintGained.join('')}`);
    if (ev.stuck !== undefined) out.push(`stuck probe: ${ev.stuck.where}`, ...stuckTaskLines(ev.stuck.tasks).map((l) => `  ${l}`));
    if (ev.kmsgLost !== undefined) out.push(`kmsg records lost: ${ev.kmsgLost}`);
    for (const f of ev.findings) out.push(`finding ${f.severity} ${f.kind}: ${f.line}${f.reason ? ` (${f.reason})` : ''}`);
    out.push(`kmsg (${ev.kmsg.length} lines):`, ...ev.kmsg.map((l) => `  ${l}`));
    if (ev.console && ev.console.length > 0) out.push('console:', ...ev.console.map((l) => `  ${l}`));
  });
  return out.join('\n');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function testcase(rc: ReportCell): string {
  const time = rc.runs.reduce((t, r) => t + r.durationMs, 0);
  const p = problemOf(rc);
  const lines = [`    <testcase name="${xmlAttr(rc.cell.id)}" classname="${xmlAttr(rc.kernel)}" time="${seconds(time)}">`];
  if (p) {
    lines.push(`      <${p.element} type="${xmlAttr(p.type)}" message="${xmlAttr(p.message)}">${xmlText(p.body)}</${p.element}>`);
  }
  lines.push(`      <system-out>${xmlText(evidenceText(rc))}</system-out>`, '    </testcase>');
  return lines.join('\n');
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  ms: number;
}

function count(cells: readonly ReportCell[]): Counts {
  const c: Counts = { tests: cells.length, failures: 0, errors: 0, ms: 0 };
  for (const rc of cells) {
    const p = problemOf(rc);
    if (p?.element === 'failure') c.failures++;
    if (p?.element === 'error') c.errors++;
    c.ms += rc.runs.reduce((t, r) => t + r.durationMs, 0);
  }
  return c;
}

function attrs(c: Counts): string {
  return `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="0" time="${seconds(c.ms)}"`;
}

export function renderJunit(report: MatrixReport): string {
  const env = report.environment;
  const suites = reportKernels(report).map((k) => {
    const cells = cellsOf(report, k.release);
    const props = [
      ['series', k.series],
      ['accel', k.accel],
      ['boots', String(k.boots)],
      ['restored', String(k.restored ?? 0)],
      ['target', env.target],
      ['mmaplab', env.mmaplab],
      ['qemu', env.qemu ?? ''],
    ]
      .map(([n, v]) => `      <property name="${xmlAttr(n as string)}" value="${xmlAttr(v as string)}"/>`)
      .join('\n');
    return [
      `  <testsuite name="${xmlAttr(k.release)}" ${attrs(count(cells))} timestamp="${xmlAttr(env.generated)}">`,
      `    <properties>\n${props}\n    </properties>`,
      ...cells.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mmaplab matrix" ${attrs(count(report.cells))}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
