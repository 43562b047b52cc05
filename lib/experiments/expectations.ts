/**
 * What documented kernel knowledge predicts for each cell, with the reason.
 * Reports show these next to what was observed; they never decide a verdict.
 */
import type { Verdict } from './types';

export interface Expectation {
  cellId: string;
  /** Kernel series this row is for ("6.1"), or "*" for all. */
  series: string;
  verdict: Verdict;
  /** For complaints: the finding kind expected (e.g. "bad-page-state"). */
  detail?: string;
  reason: string;
}

export const EXPECTATIONS: readonly Expectation[] = [
  {
    cellId: 'vmalloc_user/remap_vmalloc_range/64K/basic',
    series: '*',
    verdict: 'ok',
    reason:
      'vmalloc_user sets VM_USERMAP and zeroes the pages, which is exactly what ' +
      'remap_vmalloc_range requires; the pages stay owned by vmalloc',
  },
  {
    cellId: 'pages_nocomp/fault_page/16K/basic',
    series: '*',
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    reason:
      'without __GFP_COMP the tail pages have refcount 0: get_page/put_page in the fault ' +
      'path frees them under the driver, and freeing the block then finds pages in a bad state',
  },
];

export function expectationFor(cellId: string, series: string): Expectation | undefined {
  return (
    EXPECTATIONS.find((e) => e.cellId === cellId && e.series === series) ??
    EXPECTATIONS.find((e) => e.cellId === cellId && e.series === '*')
  );
}

export type Agreement = 'agrees' | 'differs' | 'no-expectation';

export function compare(cellId: string, series: string, verdict: Verdict, detail: string): Agreement {
  const e = expectationFor(cellId, series);
  if (!e) return 'no-expectation';
  if (e.verdict !== verdict) return 'differs';
  if (e.detail !== undefined && e.detail !== detail) return 'differs';
  return 'agrees';
}
