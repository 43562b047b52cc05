/**
 * The kernel's taint mask (/proc/sys/kernel/tainted): decode, compare, judge.
 *
 * Bits and letters follow kernel/panic.c taint_flags[] and
 * Documentation/admin-guide/tainted-kernels.rst. 6.1 and 6.12 both define bits
 * 0-18 (TAINT_FLAGS_COUNT = 19); bit 19 (J, fwctl) arrived in 6.15.
 *
 * Taint is sticky: bits are never cleared until reboot, so a cell's taint
 * evidence is the bits gained between a reading before and one after it.
 * Loading mmaplab.ko itself sets O (out-of-tree) and E (unsigned); diffTaint
 * masks those by default.
 */

import * as fs from 'node:fs';
import { MmaplabError } from '../util/errors';
import { KMSG_ERRORS } from './errors';

export const TAINT_PATH = '/proc/sys/kernel/tainted';

export interface TaintFlag {
  bit: number;
  /** Letter printed when the bit is set ("Tainted: G    B      OE"). */
  letter: string;
  /** TAINT_* name without the prefix, as 6.12 prints it ("[B]=BAD_PAGE"). */
  name: string;
  description: string;
}

export const TAINT_FLAGS: readonly TaintFlag[] = [
  { bit: 0, letter: 'P', name: 'PROPRIETARY_MODULE', description: 'a proprietary module was loaded (G when not)' },
  { bit: 1, letter: 'F', name: 'FORCED_MODULE', description: 'a module was force-loaded' },
  { bit: 2, letter: 'S', name: 'CPU_OUT_OF_SPEC', description: 'the CPU is out of specification' },
  { bit: 3, letter: 'R', name: 'FORCED_RMMOD', description: 'a module was force-unloaded' },
  { bit: 4, letter: 'M', name: 'MACHINE_CHECK', description: 'a machine check exception occurred' },
  { bit: 5, letter: 'B', name: 'BAD_PAGE', description: 'a bad page was referenced or found with unexpected flags' },
  { bit: 6, letter: 'U', name: 'USER', description: 'taint requested by userspace' },
  { bit: 7, letter: 'D', name: 'DIE', description: 'the kernel died recently (oops or BUG)' },
  { bit: 8, letter: 'A', name: 'OVERRIDDEN_ACPI_TABLE', description: 'an ACPI table was overridden' },
  { bit: 9, letter: 'W', name: 'WARN', description: 'the kernel issued a warning' },
  { bit: 10, letter: 'C', name: 'CRAP', description: 'a staging driver was loaded' },
  { bit: 11, letter: 'I', name: 'FIRMWARE_WORKAROUND', description: 'a workaround for a platform firmware bug was applied' },
  { bit: 12, letter: 'O', name: 'OOT_MODULE', description: 'an out-of-tree module was loaded' },
  { bit: 13, letter: 'E', name: 'UNSIGNED_MODULE', description: 'an unsigned module was loaded' },
  { bit: 14, letter: 'L', name: 'SOFTLOCKUP', description: 'a soft lockup occurred' },
  { bit: 15, letter: 'K', name: 'LIVEPATCH', description: 'the kernel was live patched' },
  { bit: 16, letter: 'X', name: 'AUX', description: 'auxiliary taint, defined for and used by distros' },
  { bit: 17, letter: 'T', name: 'RANDSTRUCT', description: 'the kernel was built with the struct randomization plugin' },
  { bit: 18, letter: 'N', name: 'TEST', description: 'an in-kernel test (kunit) was run' },
  { bit: 19, letter: 'J', name: 'FWCTL', description: 'userspace used a mutating fwctl debug operation (6.15+)' },
];

/** TAINT_FLAGS_COUNT of 6.1 and 6.12: the width of the "Tainted: ..." letter field. */
export const TAINT_FIELD_WIDTH_6_X = 19;

/** Bits that mean the kernel complained: B (5), D (7), W (9), L (14). */
export const TROUBLE_BITS: readonly number[] = [5, 7, 9, 14];
/** Bits loading mmaplab.ko sets by itself: O (12), E (13). */
export const MODULE_OWN_BITS: readonly number[] = [12, 13];

export function maskOf(bits: readonly number[]): number {
  return bits.reduce((mask, bit) => mask + (hasBit(mask, bit) ? 0 : 2 ** bit), 0);
}

export const TROUBLE_MASK = maskOf(TROUBLE_BITS);
export const MODULE_OWN_MASK = maskOf(MODULE_OWN_BITS);

/** Bit test that works for any safe integer (JS bitwise operators stop at 32 bits). */
export function hasBit(mask: number, bit: number): boolean {
  return Math.floor(mask / 2 ** bit) % 2 === 1;
}

function bitsOf(mask: number): number[] {
  const bits: number[] = [];
  for (let bit = 0, rest = mask; rest > 0; bit++, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) bits.push(bit);
  }
  return bits;
}

function checkMask(mask: number, what: string): void {
  if (!Number.isSafeInteger(mask) || mask < 0) {
    throw new RangeError(`${what}: a taint mask is a non-negative integer, got ${mask}`);
  }
}

export interface DecodedTaint {
  mask: number;
  /** Set flags, by bit. */
  flags: TaintFlag[];
  /** Set bits this table does not know (newer kernels). */
  unknownBits: number[];
  /** Letters of the set flags, e.g. "BOE" ("" when untainted). */
  letters: string;
}

export function decodeTaint(mask: number): DecodedTaint {
  checkMask(mask, 'decodeTaint');
  const flags: TaintFlag[] = [];
  const unknownBits: number[] = [];
  for (const bit of bitsOf(mask)) {
    const flag = TAINT_FLAGS.find((f) => f.bit === bit);
    if (flag) flags.push(flag);
    else unknownBits.push(bit);
  }
  return { mask, flags, unknownBits, letters: flags.map((f) => f.letter).join('') };
}

/**
 * The fixed-width letter field the kernel prints after "Tainted: "
 * ("G    B      OE      " for B|O|E on 6.1/6.12): position = bit, 'G' for an
 * unset bit 0, space for other unset bits.
 */
export function taintString(mask: number, width: number = TAINT_FIELD_WIDTH_6_X): string {
  checkMask(mask, 'taintString');
  let out = '';
  for (let bit = 0; bit < width; bit++) {
    const flag = TAINT_FLAGS.find((f) => f.bit === bit);
    if (hasBit(mask, bit)) out += flag?.letter ?? '?';
    else out += bit === 0 ? 'G' : ' ';
  }
  return out;
}

/**
 * The mask a kernel taint text stands for: the letter field of a "CPU: ...
 * Tainted: G    B      OE" line, or 6.12's "Tainted: [B]=BAD_PAGE,
 * [O]=OOT_MODULE" line. Unknown letters are ignored; 'G' means bit 0 clear.
 */
export function parseTaintString(text: string): number {
  const bracketed = [...text.matchAll(/\[([A-Z])\]/g)].flatMap(([, letter]) => (letter === undefined ? [] : [letter]));
  const letters = bracketed.length > 0 ? bracketed : [...text.replace(/^\s*Tainted:\s*/, '')].filter((c) => /[A-Z]/.test(c));
  const bits = letters.flatMap((c) => TAINT_FLAGS.filter((f) => f.letter === c).map((f) => f.bit));
  return maskOf(bits);
}

/** The current taint mask. Throws MmaplabError('ETAINT') if it cannot be read. */
export function readTaint(path: string = TAINT_PATH): number {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new MmaplabError(KMSG_ERRORS.taint, `cannot read ${path}: ${code} (is /proc mounted?)`, { path, errno: code });
  }
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new MmaplabError(KMSG_ERRORS.taint, `${path} holds ${JSON.stringify(text)}, not a taint mask`, { path });
  }
  return Number(text);
}

export interface TaintDiff {
  before: number;
  after: number;
  /** Bits not ignored that are set after and were not before. */
  gainedMask: number;
  gained: TaintFlag[];
  /** Gained bits the table does not know. */
  gainedUnknownBits: number[];
  /** The gained bits that mean trouble (B, D, W, L). */
  trouble: TaintFlag[];
  /** The bits that were masked out of the comparison. */
  ignoredMask: number;
}

/** Taint gained between two readings, ignoring `ignoreMask` (default: mmaplab's own O and E). */
export function diffTaint(before: number, after: number, ignoreMask: number = MODULE_OWN_MASK): TaintDiff {
  checkMask(before, 'diffTaint');
  checkMask(after, 'diffTaint');
  checkMask(ignoreMask, 'diffTaint');
  const gainedBits = bitsOf(after).filter((bit) => !hasBit(before, bit) && !hasBit(ignoreMask, bit));
  const decoded = decodeTaint(maskOf(gainedBits));
  return {
    before,
    after,
    gainedMask: decoded.mask,
    gained: decoded.flags,
    gainedUnknownBits: decoded.unknownBits,
    trouble: decoded.flags.filter((f) => TROUBLE_BITS.includes(f.bit)),
    ignoredMask: ignoreMask,
  };
}

/** Letters of the taint gained between two readings (default: O and E masked), e.g. ['B']. */
export function taintGained(before: number, after: number, ignoreMask: number = MODULE_OWN_MASK): string[] {
  const d = diffTaint(before, after, ignoreMask);
  return [...d.gained.map((f) => f.letter), ...d.gainedUnknownBits.map((bit) => `?${bit}`)];
}

/** The trouble flags (B, D, W, L) set in a mask. */
export function troubleFlags(mask: number): TaintFlag[] {
  return decodeTaint(mask).flags.filter((f) => TROUBLE_BITS.includes(f.bit));
}
