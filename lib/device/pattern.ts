/**
 * The seeded pattern of the uapi header, computed in userspace, so data can be
 * checked both ways: the kernel FILLs and userspace checks, or userspace
 * writes and the kernel VERIFYs.
 *
 * The word at byte offset 4*i of the device buffer is patternWord(seed, i), a
 * little-endian u32. Buffers are accessed through Uint32Array, i.e. in the
 * host's byte order, which is little-endian on every host mmaplab supports
 * (x86_64, arm64); on a big-endian host the words would be byte-swapped.
 *
 * Bytes past the last whole word of a buffer are not part of the pattern.
 */
import { at } from '../util/at';

/** mmaplab_pattern_word() of the header, in 32-bit unsigned arithmetic. */
export function patternWord(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export interface PatternMismatch {
  /** Byte offset of the first bad word in the pattern's coordinates: 4 * (firstIndex + i). */
  readonly offset: number;
  readonly expected: number;
  readonly found: number;
}

/**
 * Writes the pattern for `seed` into `target`. Word i of `target` gets
 * patternWord(seed, firstIndex + i): pass firstIndex = offset / 4 when
 * `target` starts `offset` bytes into the device buffer (an mmap at a
 * non-zero offset).
 */
export function writePattern(target: ArrayBuffer | Uint32Array, seed: number, firstIndex = 0): void {
  const words = asWords(target);
  for (let i = 0; i < words.length; i++) words[i] = patternWord(seed, firstIndex + i);
}

/** The first word of `target` that breaks the pattern, or null if none does. */
export function checkPattern(target: ArrayBuffer | Uint32Array, seed: number, firstIndex = 0): PatternMismatch | null {
  const words = asWords(target);
  // An index loop (for-of over a typed array is several times slower, and
  // buffers run to megabytes under TCG), the word checked only once it differs.
  for (let i = 0; i < words.length; i++) {
    const expected = patternWord(seed, firstIndex + i);
    if (words[i] !== expected) return { offset: 4 * (firstIndex + i), expected, found: at(words, i, 'the word that differs') };
  }
  return null;
}

function asWords(target: ArrayBuffer | Uint32Array): Uint32Array {
  return target instanceof Uint32Array ? target : new Uint32Array(target, 0, Math.floor(target.byteLength / 4));
}
