/**
 * What driving the device from TypeScript costs over C: the same cycle
 * (mmap the whole vmalloc_user buffer through remap_vmalloc_range,
 * write-touch every page, munmap) timed through the Device API and by
 * native/bench-cycle.c, in the same guest. Each side runs one unrecorded
 * warm-up cycle first (V8 compiles the TypeScript path, the C program
 * faults its own code in), then `reps` timed ones.
 */
import { execFile } from 'node:child_process';
import { Device, MAX_SIZE, pageSize } from '../device';
import type { AllocName, CellMethodName } from '../experiments/types';
import { MmaplabError } from '../util/errors';
import { refusalText } from './map-cost';
import { stat } from './stat';
import type { AddonOverheadRow } from './types';

const ALLOC: AllocName = 'vmalloc_user';
const METHOD: CellMethodName = 'remap_vmalloc_range';

/** Longest one run of the C program may take (64 MiB cycles under TCG are seconds each). */
const C_PROGRAM_TIMEOUT_MS = 300_000;

/**
 * `reps` timed cycles through the Device API, ns each; null when the module
 * refuses a vmalloc_user buffer of this size (its max_size parameter).
 */
export function typescriptCycles(size: number, reps: number): number[] | null {
  const dev = Device.open();
  try {
    try {
      dev.configure({ alloc: ALLOC, method: METHOD, size });
    } catch (err) {
      if (refusalText(err, 'CONFIGURE') === null) throw err;
      return null;
    }
    const cycle = (): number => {
      const t = process.hrtime.bigint();
      const m = dev.map();
      m.touch('write');
      m.unmap();
      return Number(process.hrtime.bigint() - t);
    };
    cycle();
    return Array.from({ length: reps }, cycle);
  } finally {
    dev.close();
  }
}

/**
 * `reps` timed cycles of the C program, ns each. Throws MmaplabError
 * 'ECYCLEPROGRAM' with the program's stderr when it fails or prints
 * anything but `reps` positive integers.
 */
export function cCycles(program: string, size: number, reps: number): Promise<number[]> {
  const fail = (why: string): MmaplabError =>
    new MmaplabError('ECYCLEPROGRAM', `${program} ${size} ${reps}: ${why}`, { program, size, reps });
  return new Promise((resolve, reject) => {
    execFile(program, [String(size), String(reps)], { timeout: C_PROGRAM_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) {
        reject(fail(`${err.message.trim()}${stderr.trim() ? `\n${stderr.trim()}` : ''}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      const ns = lines.map(Number);
      if (lines.length !== reps || ns.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
        reject(fail(`expected ${reps} positive integers, one a line; got ${JSON.stringify(stdout.slice(0, 200))}`));
        return;
      }
      resolve(ns);
    });
  });
}

/** One row per size that vmalloc_user allows (a page multiple, at most MAX_SIZE, not refused). */
export async function measureAddonOverhead(sizes: readonly number[], reps: number, cProgram: string): Promise<AddonOverheadRow[]> {
  const rows: AddonOverheadRow[] = [];
  for (const size of sizes) {
    if (size % pageSize() !== 0 || BigInt(size) > MAX_SIZE) continue;
    const ts = typescriptCycles(size, reps);
    if (ts === null) continue;
    const c = await cCycles(cProgram, size, reps);
    rows.push({
      alloc: ALLOC,
      method: METHOD,
      size,
      pages: size / pageSize(),
      typescriptNs: stat(ts),
      cNs: stat(c),
    });
  }
  return rows;
}
