/**
 * The "files" section of the Markdown and HTML reports: what reached the
 * backing store under each trigger, per kernel, and the conversation's
 * statements answered from it. Both renderers take the same rows.
 */
import type { FileClaimAnswer } from '../experiments/file-claims';
import { FILE_CLAIMS } from '../experiments/file-claims';
import type { KernelFiles, TriggerResult } from '../experiments/file-triggers';

export const FILES_HEAD = ['kernel', 'method', 'trigger', 'arrived', 'first ms', 'last ms', 'paths', 'intact', 'note'];

function ms(v: number | null): string {
  return v === null ? '-' : v.toFixed(1);
}

export function fileRow(kernel: string, r: TriggerResult): string[] {
  const paths = Object.entries(r.paths)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  return [
    kernel,
    r.method,
    r.trigger,
    r.error !== null ? `error: ${r.error}` : `${r.arrived}/${r.pages}`,
    ms(r.firstMs),
    ms(r.lastMs),
    paths || '-',
    r.error !== null ? '-' : r.intact ? 'yes' : 'NO',
    r.note ?? '',
  ];
}

export function fileRows(kernels: readonly KernelFiles[]): string[][] {
  return kernels.flatMap((k) => k.results.map((r) => fileRow(k.kernel, r)));
}

export const FILE_CLAIMS_HEAD = (kernels: readonly string[]): string[] => ['statement', 'measured by', ...kernels];

/** One row per statement: the statement, its test, then verdict and evidence per kernel. */
export function fileClaimRows(answers: readonly FileClaimAnswer[], kernels: readonly string[]): string[][] {
  return FILE_CLAIMS.map((c) => [
    c.claim,
    c.test,
    ...kernels.map((k) => {
      const a = answers.find((x) => x.claim.id === c.id && x.kernel === k);
      return a === undefined ? 'not run' : `${a.verdict}${a.evidence.length ? `: ${a.evidence.join('; ')}` : ''}`;
    }),
  ]);
}
