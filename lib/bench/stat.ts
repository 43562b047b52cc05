/** Summaries of repeated measurements (the Stat of lib/bench/types.ts). */
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';
import type { Stat } from './types';

/**
 * The median, smallest and largest of `values` and how many there were. An
 * even count's median is the mean of the two middle values. Throws
 * MmaplabError 'ENOVALUES' for an empty list and 'EBADVALUE' for a
 * value that is not a finite number: a Stat always summarises real figures.
 */
export function stat(values: readonly number[]): Stat {
  if (values.length === 0) throw new MmaplabError('ENOVALUES', 'stat() needs at least one value');
  const bad = values.find((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad !== undefined) {
    throw new MmaplabError('EBADVALUE', `stat() takes finite numbers only, got ${String(bad)}`, { value: bad });
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const value = (i: number): number => at(sorted, i, 'stat() of the sorted values');
  const median = sorted.length % 2 === 1 ? value(mid) : (value(mid - 1) + value(mid)) / 2;
  return { median, min: value(0), max: value(sorted.length - 1), n: sorted.length };
}

/** The median alone (of counts, say), with the same checks as stat(). */
export function median(values: readonly number[]): number {
  return stat(values).median;
}
