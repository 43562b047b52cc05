/**
 * The fuzzer's random numbers: mulberry32, a 32-bit state generator that is
 * small, fast and the same everywhere (no Math.random, no platform
 * dependence), so a seed names one operation sequence for good.
 */
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';

/** A 32-bit seed: an integer in [0, 2^32). */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new MmaplabError('EFUZZSEED', `a fuzz seed is an integer in [0, 2^32), got ${String(seed)}`);
  }
  return seed;
}

/** A seed from the clock, for runs that were not given one. */
export function clockSeed(now: number = Date.now()): number {
  return (Math.floor(now) ^ Math.floor(now / 2 ** 32)) >>> 0;
}

export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = checkSeed(seed);
  }

  /** The next 32-bit unsigned integer (mulberry32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** An integer in [0, n) (n >= 1, at most 2^32). */
  below(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`below(n): n must be an integer in [1, 2^32], got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`range(${lo}, ${hi}): empty`);
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() of an empty array');
    return at(items, this.below(items.length), 'pick()');
  }

  /** One key of a table of non-negative weights (at least one positive). */
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    const entries = (Object.entries(weights) as [K, number | undefined][]).filter(
      (e): e is [K, number] => typeof e[1] === 'number' && e[1] > 0,
    );
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    if (entries.length === 0) throw new RangeError('weighted() needs a positive weight');
    let x = this.float() * total;
    for (const [key, w] of entries) {
      if (x < w) return key;
      x -= w;
    }
    // rounding can carry x past the last weight: that weight's key
    return at(entries, entries.length - 1, 'the last weight')[0];
  }
}
