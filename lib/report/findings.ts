/**
 * The findings page (docs/findings.md) and the README's findings at a
 * glance, both written from one run's report.json by `mmaplab findings`.
 * Nothing here is typed by hand: the claims, the surprises, the uses and
 * the files statements are computed from the report as report.md computes
 * them, so a page that no longer matches its report is stale, and a unit
 * test says so.
 */
import { evaluateClaims, type ClaimResult, type ClaimKernelResult } from '../experiments/claims';
import { MmaplabError } from '../util/errors';
import { md } from './escape';
import { FILE_CLAIMS_HEAD, fileClaimRows } from './files-section';
import { code, kernelsLine, table } from './markdown';
import type { MatrixReport, ReportCell } from './schema';
import { usesSummaryMarkdown } from './uses-summary';
import {
  agreementCounts,
  agreementText,
  expectedLabel,
  flakyCells,
  observationRecord,
  outcomeLabel,
  reportKernels,
  surprises,
} from './view';

/** The README's generated block lies between these two lines. */
export const GLANCE_BEGIN = '<!-- findings: begin (written by `mmaplab findings`; edit the command, not this) -->';
export const GLANCE_END = '<!-- findings: end -->';

/** The command that writes the page and the block, as the page names it. */
export function findingsCommand(reportPath: string): string {
  return `mmaplab findings ${reportPath} --out docs/findings.md --readme README.md`;
}

/** "supports (5 hold, 0 fail)"; "untested" where no run says anything; "not run" where the report has no cell of the claim on that kernel. */
function claimStatus(k: ClaimKernelResult | undefined): string {
  if (k === undefined) return 'not run';
  if (k.status === 'untested') return 'untested';
  return `${k.status} (${k.counts.holds} hold, ${k.counts.fails} fail)`;
}

function claimsTable(claims: readonly ClaimResult[], releases: readonly string[], withCells: boolean): string[] {
  const head = ['claim', ...releases.map(code)];
  const rows = claims.map((c) => {
    const perKernel = releases.map((r) => {
      const k = c.kernels.find((x) => x.kernel === r);
      const status = claimStatus(k);
      return k !== undefined && k.status !== 'supports' && k.status !== 'untested' ? `**${status}**` : status;
    });
    const claim = withCells ? `${md(c.text)} (${md(c.source)}; ${code(c.id)})<br>${md(c.test)}` : md(c.text);
    return [claim, ...perKernel];
  });
  return table(head, rows);
}

function runLine(report: MatrixReport): string {
  const env = report.environment;
  const kernels = kernelsLine(report);
  return (
    `The run: ${md(env.generated.slice(0, 10))}, mmaplab ${md(env.mmaplab)}, ${env.host.cpus} CPUs, ` +
    `target ${md(env.target)}; kernels ${kernels}. ${md(agreementCounts(report.cells))}.`
  );
}

function surpriseLines(list: readonly ReportCell[]): string[] {
  if (list.length === 0) return ['None: every cell met its prediction.'];
  return list.flatMap((rc) => [
    `- ${code(rc.kernel)} ${code(rc.cell.id)}: **${md(outcomeLabel(rc.verdict, rc.detail))}**, ${md(agreementText(rc.agreement))}`,
    `  - predicted: ${md(expectedLabel(rc.expectation))}${rc.expectation ? `: ${md(rc.expectation.reason)}` : ''}`,
    ...observationRecord(rc.expectation).map((o) => `  - observation record: ${md(o)}`),
  ]);
}

function flakyLines(list: readonly ReportCell[]): string[] {
  if (list.length === 0) return ['None.'];
  return list.map(
    (rc) =>
      `- ${code(rc.kernel)} ${code(rc.cell.id)}: ${Object.entries(rc.distribution)
        .map(([o, n]) => `${md(o)} ×${n}`)
        .join(', ')}`,
  );
}

function filesLines(report: MatrixReport): string[] {
  const files = report.files;
  if (files === undefined) return ['This run did not measure the file-backed methods.'];
  const kernels = files.kernels.map((k) => k.kernel);
  return table(
    FILE_CLAIMS_HEAD(kernels.map(code)),
    fileClaimRows(files.claims, kernels).map((r) => r.map(md)),
  );
}

/** docs/findings.md, whole. `reportPath` is how the page names its report (relative to the repository). */
export function renderFindingsPage(report: MatrixReport, reportPath: string): string {
  const releases = reportKernels(report).map((k) => k.release);
  const uses = usesSummaryMarkdown(report, md);
  return [
    '# Findings',
    '',
    `<!-- written by \`${findingsCommand(reportPath)}\` from ${reportPath}; edit the command, not this page -->`,
    '',
    `${runLine(report)} Every line below is computed from that run's [report](${reportPath.replace(/^docs\//, '')}) ` +
      '(`mmaplab report` renders its every format again); [findings explained](findings-explained.md) says why each comes out as it does.',
    '',
    '## The claims',
    '',
    'Each claim of the folklore and of the API contracts against the cells that test it: per kernel, whether the runs of those ' +
      'cells support it (every informative run holds), contradict it (none does), are mixed, or leave it untested. ' +
      "The claims table of the run's report.md lists every cell behind each row.",
    '',
    ...claimsTable(evaluateClaims(report), releases, true),
    '',
    '## Where the kernel contradicted the prediction',
    '',
    'Every cell whose outcome did not meet its prediction, with the prediction, its reason and the observation record it matched ' +
      '(a cell that matches neither fails the run).',
    '',
    ...surpriseLines(surprises(report)),
    '',
    '## Cells whose runs varied',
    '',
    ...flakyLines(flakyCells(report)),
    '',
    '## Uses at a glance',
    '',
    ...(uses.length > 0
      ? [
          'What a program can do with each method ("6.1: x; 6.12: y" where the series differ): the uses whose outcome depends on ' +
            'the method, then those that came out the same for all.',
          '',
          ...uses,
        ]
      : ['This run had no use cells.']),
    '',
    '## How writes through a mapping reach the backing store',
    '',
    ...filesLines(report),
    '',
  ].join('\n');
}

/** The README's block: the claims, one line each, per kernel. */
export function renderFindingsGlance(report: MatrixReport, reportPath: string): string {
  const releases = reportKernels(report).map((k) => k.release);
  return [
    GLANCE_BEGIN,
    '',
    `${runLine(report)}`,
    '',
    ...claimsTable(evaluateClaims(report), releases, false),
    '',
    `Computed from [that run's report](${reportPath}); every claim with its cells, the surprises and the uses: [docs/findings.md](docs/findings.md).`,
    '',
    GLANCE_END,
  ].join('\n');
}

/** `text` with its findings block replaced by `block`; EFINDINGS when it has no such block. */
export function replaceGlance(text: string, block: string, file: string): string {
  const begin = text.indexOf(GLANCE_BEGIN);
  const end = text.indexOf(GLANCE_END);
  if (begin < 0 || end < begin) {
    throw new MmaplabError(
      'EFINDINGS',
      `${file} has no findings block: put the line "${GLANCE_BEGIN}" and, below it, "${GLANCE_END}" where it goes`,
    );
  }
  return text.slice(0, begin) + block + text.slice(end + GLANCE_END.length);
}

/** The block as it stands in `text`, or null. */
export function currentGlance(text: string): string | null {
  const begin = text.indexOf(GLANCE_BEGIN);
  const end = text.indexOf(GLANCE_END);
  return begin < 0 || end < begin ? null : text.slice(begin, end + GLANCE_END.length);
}
