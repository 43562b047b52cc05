/**
 * The reports of `mmaplab check`: report.json (the results as they came),
 * report.md, junit.xml, report.tap and report.html. A scenario passes when
 * its verdict is one it accepts from a correct driver; a finding fails
 * with its explanation; 'not-run' is reported as skipped, never as a pass.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { html, xmlAttr, xmlText } from '../report/escape';
import { explain, explanationLines } from './explain';
import type { CheckOptions, KernelCheck } from './run';
import { type CheckItem, type CheckResult, checkItems, isFinding, specOf } from './types';

export const CHECK_REPORT_FILES = ['report.json', 'report.md', 'junit.xml', 'report.tap', 'report.html'] as const;

function sourceOf(o: CheckOptions): string {
  return 'kmod' in o.module ? `--kmod ${o.module.kmod}` : `--ko ${o.module.ko}`;
}

/** What a finding says, for any format: the detail, the rule, what to do, where to look, the log. */
function findingText(r: CheckResult): string {
  const why = explain(r);
  return [r.detail, ...(why !== null ? explanationLines(why) : []), ...r.kmsg.slice(0, 40)].join('\n');
}

/** A check's name in reports: its kernel, and its node when the checks cover more than one. */
export function checkLabel(c: KernelCheck, checks: readonly KernelCheck[]): string {
  return new Set(checks.map((x) => x.device)).size > 1 ? `${c.kernel} ${c.device}` : c.kernel;
}

/** The rows of a grid: every scenario and use some kernel has a result for, in the order they run. */
function gridRows(checks: readonly KernelCheck[]): CheckItem[] {
  return checkItems(true).filter((item) => checks.some((c) => c.results.some((r) => r.scenario === item)));
}

/** report.md: a grid of scenario x kernel, then the findings with their explanations. */
export function renderCheckMarkdown(checks: readonly KernelCheck[], o: CheckOptions): string {
  const out = [`# mmaplab check: ${o.device}`, '', `Module: ${sourceOf(o)}; buffer ${o.size} bytes.`, ''];
  for (const c of checks) for (const n of c.notes) out.push(`- ${checkLabel(c, checks)}: ${n}`);
  if (checks.some((c) => c.notes.length > 0)) out.push('');
  out.push(`| scenario | ${checks.map((c) => checkLabel(c, checks)).join(' | ')} |`, `|---|${checks.map(() => '---|').join('')}`);
  for (const scenario of gridRows(checks)) {
    const spec = specOf(scenario);
    const cells = checks.map((c) => {
      const r = c.results.find((x) => x.scenario === scenario);
      if (r === undefined) return '';
      return isFinding(r) ? `**${r.verdict}**` : r.verdict;
    });
    out.push(`| ${scenario}: ${spec.title} | ${cells.join(' | ')} |`);
  }
  for (const c of checks) {
    for (const r of c.results.filter(isFinding)) {
      out.push('', `## ${checkLabel(c, checks)}: ${r.scenario}: ${r.verdict}`, '', r.detail);
      const why = explain(r);
      if (why !== null) out.push('', ...explanationLines(why, true).map((l) => `- ${l}`));
      if (r.kmsg.length > 0) out.push('', '```', ...r.kmsg.slice(0, 40), '```');
    }
  }
  return out.join('\n') + '\n';
}

/** junit.xml: a <testsuite> per kernel, a <testcase> per scenario; a finding is a <failure>. */
export function renderCheckJunit(checks: readonly KernelCheck[]): string {
  const suites = checks.map((c) => {
    const cases = c.results.map((r) => {
      const name = `${r.scenario}: ${specOf(r.scenario).title}`;
      const open = `    <testcase name="${xmlAttr(name)}" classname="${xmlAttr(checkLabel(c, checks))}" time="${(r.durationMs / 1000).toFixed(3)}">`;
      const body = isFinding(r)
        ? `\n      <failure type="${xmlAttr(r.verdict)}" message="${xmlAttr(r.detail)}">${xmlText(findingText(r))}</failure>\n    `
        : r.verdict === 'not-run'
          ? `\n      <skipped message="${xmlAttr(r.detail)}"/>\n    `
          : `\n      <system-out>${xmlText(`${r.verdict}: ${r.detail}`)}</system-out>\n    `;
      return `${open}${body}</testcase>`;
    });
    const failures = c.results.filter(isFinding).length;
    const skipped = c.results.filter((r) => r.verdict === 'not-run').length;
    return (
      `  <testsuite name="${xmlAttr(`mmaplab check on ${checkLabel(c, checks)}`)}" tests="${c.results.length}" failures="${failures}" errors="0" skipped="${skipped}">\n` +
      `${cases.join('\n')}\n  </testsuite>`
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mmaplab check">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** report.tap: TAP 13, a test point per kernel and scenario; a finding is "not ok" with a YAML block. */
export function renderCheckTap(checks: readonly KernelCheck[]): string {
  const results = checks.flatMap((c) => c.results.map((r) => ({ kernel: checkLabel(c, checks), r })));
  const lines = ['TAP version 13', `1..${results.length}`];
  results.forEach(({ kernel, r }, i) => {
    const title = `${kernel} ${r.scenario}: ${r.verdict}`.replace(/#/g, '\\#');
    if (r.verdict === 'not-run') {
      lines.push(`ok ${i + 1} - ${title} # SKIP ${r.detail.replace(/\n/g, ' ')}`);
    } else if (isFinding(r)) {
      lines.push(
        `not ok ${i + 1} - ${title}`,
        '  ---',
        '  message: |',
        ...findingText(r)
          .split('\n')
          .map((l) => `    ${l}`),
        '  ...',
      );
    } else {
      lines.push(`ok ${i + 1} - ${title}`);
    }
  });
  return lines.join('\n') + '\n';
}

/** report.html: the grid, findings in red with their explanations below; no script, no external asset. */
export function renderCheckHtml(checks: readonly KernelCheck[], o: CheckOptions): string {
  const head = checks.map((c) => `<th>${html(checkLabel(c, checks))}</th>`).join('');
  const rows = gridRows(checks).map((scenario) => {
    const spec = specOf(scenario);
    const cells = checks.map((c) => {
      const r = c.results.find((x) => x.scenario === scenario);
      if (r === undefined) return '<td></td>';
      const cls = isFinding(r) ? 'finding' : r.verdict === 'not-run' ? 'not-run' : 'ok';
      return `<td class="${cls}" title="${html(r.detail)}">${html(r.verdict)}</td>`;
    });
    return `<tr><th scope="row">${html(scenario)}<div class="title">${html(spec.title)}</div></th>${cells.join('')}</tr>`;
  });
  const findings = checks.flatMap((c) =>
    c.results
      .filter(isFinding)
      .map(
        (r) =>
          `<section class="finding"><h2>${html(`${checkLabel(c, checks)}: ${r.scenario}: ${r.verdict}`)}</h2><pre>${html(findingText(r))}</pre></section>`,
      ),
  );
  const notes = checks.flatMap((c) => c.notes.map((n) => `<li>${html(`${checkLabel(c, checks)}: ${n}`)}</li>`));
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${html(`mmaplab check: ${o.device}`)}</title>`,
    '<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}' +
      '.title{font-weight:normal;font-size:.85em;color:#555;max-width:50em}.ok{background:#e8f5e9}.finding{background:#ffebee}.not-run{background:#eee}' +
      'section.finding{background:none;border-left:4px solid #c62828;padding-left:1em}pre{white-space:pre-wrap}</style>',
    '</head><body>',
    `<h1>${html(`mmaplab check: ${o.device}`)}</h1>`,
    `<p>${html(`Module: ${sourceOf(o)}; buffer ${o.size} bytes.`)}</p>`,
    notes.length > 0 ? `<ul>${notes.join('')}</ul>` : '',
    `<table><thead><tr><th>scenario</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`,
    findings.length > 0 ? findings.join('\n') : '<p>No finding.</p>',
    '</body></html>',
    '',
  ].join('\n');
}

/** Every format into `dir`. */
export function writeCheckReports(dir: string, checks: readonly KernelCheck[], o: CheckOptions): void {
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ schema: 'mmaplab-check/1', options: o, kernels: checks }, null, 2) + '\n';
  fs.writeFileSync(path.join(dir, 'report.json'), json);
  fs.writeFileSync(path.join(dir, 'report.md'), renderCheckMarkdown(checks, o));
  fs.writeFileSync(path.join(dir, 'junit.xml'), renderCheckJunit(checks));
  fs.writeFileSync(path.join(dir, 'report.tap'), renderCheckTap(checks));
  fs.writeFileSync(path.join(dir, 'report.html'), renderCheckHtml(checks, o));
}
