/**
 * The check's leak scenario: many open -> setup -> mmap -> write every
 * page -> munmap -> close cycles of the user's node, with what the kernel
 * holds compared before and after. Nothing here can count the driver's
 * objects (mmaplab's own leak check reads its module's counters), so the
 * measures are the kernel's: free memory (MemFree plus the per-CPU lists,
 * net of this process's anonymous RSS growth, as lib/harden/leak reads
 * it), Slab, and VmallocUsed, each held to the same bound. Over the bound
 * in a first window, a second window of as many cycles must be over it
 * too: a leak costs memory per cycle, background noise does not repeat.
 *
 * The pages are written by the kernel (a read(2) of /dev/zero into the
 * mapping), so a page that cannot be faulted in is EFAULT here, never a
 * signal in the agent.
 */
import * as fs from 'node:fs';
import { isSyscallError } from '../device/errors';
import { native, nativeConstants } from '../device/native';
import { leakBoundKb, meminfoKb, readFree } from '../harden/leak';
import type { Observed } from './guest';
import type { CheckTarget } from './types';
import { sleepSync } from '../util/sleep';

/**
 * Cycles per window: a leak of one page per cycle (600 x 4 kB = 2400 kB)
 * is over the bound (2048 kB + 4 kB per 100 cycles = 2072 kB).
 */
export const LEAK_CYCLES = 600;
/** Cycles before the first reading: first-use costs (slab caches growing, V8 compiling the loop) outside the window. */
const WARMUP = 10;
/** ms to wait after drop_caches before reading. */
const SETTLE_MS = 100;

interface Reading {
  freeKb: number;
  slabKb: number;
  vmallocKb: number;
  rssAnonKb: number;
}

/** What one window of cycles cost (kB; > 0 = the kernel holds more). */
export interface LeakDelta {
  freeKb: number;
  slabKb: number;
  vmallocKb: number;
}

function reading(): Reading {
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
  sleepSync(SETTLE_MS);
  const free = readFree();
  const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
  return {
    freeKb: free.memFreeKb + free.pcpKb,
    slabKb: free.slabKb,
    vmallocKb: meminfoKb(meminfo, 'VmallocUsed'),
    rssAnonKb: meminfoKb(fs.readFileSync('/proc/self/status', 'utf8'), 'RssAnon'),
  };
}

export function leakDelta(before: Reading, after: Reading): LeakDelta {
  return {
    freeKb: before.freeKb - after.freeKb - (after.rssAnonKb - before.rssAnonKb),
    slabKb: after.slabKb - before.slabKb,
    vmallocKb: after.vmallocKb - before.vmallocKb,
  };
}

/** The measures of one window over `boundKb`, as text; empty when within it. */
export function leakProblems(d: LeakDelta, boundKb: number): string[] {
  const out: string[] = [];
  if (d.freeKb > boundKb) out.push(`free memory dropped by ${d.freeKb} kB`);
  if (d.slabKb > boundKb) out.push(`Slab grew by ${d.slabKb} kB`);
  if (d.vmallocKb > boundKb) out.push(`VmallocUsed grew by ${d.vmallocKb} kB`);
  return out;
}

export function describeDelta(d: LeakDelta): string {
  return `free ${-d.freeKb} kB, Slab ${d.slabKb >= 0 ? '+' : ''}${d.slabKb} kB, VmallocUsed ${d.vmallocKb >= 0 ? '+' : ''}${d.vmallocKb} kB`;
}

/** Why the cycles could not go on. */
class CycleFailed extends Error {}

/**
 * One cycle; returns the mmap refusal's code, or null when it mapped and
 * the kernel wrote every page. `open` runs the setup steps.
 */
function cycle(t: CheckTarget, open: (t: CheckTarget) => number, zero: number): string | null {
  const sys = nativeConstants().sys;
  const fd = open(t);
  try {
    let buf: ArrayBuffer;
    try {
      buf = native().mmap(fd, t.size, sys.PROT_READ | sys.PROT_WRITE, sys.MAP_SHARED, 0);
    } catch (err) {
      if (isSyscallError(err)) return err.code ?? 'refused';
      throw err;
    }
    try {
      const view = new Uint8Array(buf);
      for (let done = 0; done < view.length;) {
        const n = fs.readSync(zero, view, done, view.length - done, null);
        if (n === 0) throw new CycleFailed('/dev/zero gave nothing');
        done += n;
      }
    } catch (err) {
      if (err instanceof CycleFailed) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new CycleFailed(`the kernel could not write the mapping (read of /dev/zero into it: ${code})`);
    } finally {
      native().munmap(buf);
    }
    return null;
  } finally {
    native().close(fd);
  }
}

/** `n` cycles; how many had their mmap refused, and with what (the last code). */
function cycles(t: CheckTarget, open: (t: CheckTarget) => number, zero: number, n: number): { refused: number; code: string | null } {
  let refused = 0;
  let code: string | null = null;
  for (let i = 0; i < n; i++) {
    const c = cycle(t, open, zero);
    if (c !== null) {
      refused++;
      code = c;
    }
  }
  return { refused, code };
}

/** The scenario's body: a window of cycles, a second one when the first is over the bound. */
export function leakScenario(t: CheckTarget, open: (t: CheckTarget) => number, n = LEAK_CYCLES): Observed {
  const zero = fs.openSync('/dev/zero', 'r');
  try {
    cycles(t, open, zero, WARMUP);
    const bound = leakBoundKb(n);
    const a = reading();
    const r = cycles(t, open, zero, n);
    const first = leakDelta(a, reading());
    const how = `${n} cycles${r.refused > 0 ? `, ${r.refused === n ? 'every' : `${r.refused} of ${n}`} mmap refused (${r.code})` : ''}`;
    if (leakProblems(first, bound).length === 0) {
      return { verdict: 'ok', detail: `${how}: ${describeDelta(first)} (bound ${bound} kB)` };
    }
    const b = reading();
    cycles(t, open, zero, n);
    const second = leakDelta(b, reading());
    const again = leakProblems(second, bound);
    if (again.length === 0) {
      return {
        verdict: 'ok',
        detail: `${how}: ${describeDelta(first)}, then ${describeDelta(second)} in a second window (bound ${bound} kB)`,
      };
    }
    return {
      verdict: 'leak',
      detail: `${how}: ${again.join(', ')} in each of two windows (bound ${bound} kB; first ${describeDelta(first)})`,
    };
  } catch (err) {
    if (err instanceof CycleFailed) return { verdict: 'not-run', detail: err.message };
    throw err;
  } finally {
    fs.closeSync(zero);
  }
}
