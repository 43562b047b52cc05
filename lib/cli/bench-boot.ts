/**
 * `mmaplab bench-boot`: how long a cell takes to start, per kernel, for the
 * two ways of booting: the extracted vmlinux (PVH) and the bzImage (the
 * kernel decompresses itself, under TCG). Both are measured in the same run
 * and reported as medians and a ratio; nothing here asserts a time.
 */
import { median } from '../bench/stat';
import { findCells } from '../experiments/catalogue';
import { MmaplabError } from '../util/errors';
import { MARK_AGENT_READY, MARK_CELL_DONE } from '../vm/job';
import { type Kernel } from '../vm/kernels';
import { ensureModule } from '../vm/kmod';
import { requireQemu } from '../vm/qemu';
import { runJob, type VmOptions } from '../vm/session';
import type { CliOptions } from './args';
import { bootableKernels, vmOptionsFor } from './vm-options';

export interface BootSample {
  ready: number;
  firstCell: number;
}

/** A benchmark boot that overruns this is counted as stalled, not waited for. */
export const BENCH_BOOT_TIMEOUT_MS = 60_000;

/** One boot on `path` that runs the safe benchmark cell; a string says why it gave no times. */
export async function sampleBoot(kernel: Kernel, vm: VmOptions, path: 'vmlinux' | 'bzimage'): Promise<BootSample | string> {
  const cell = findCells(['vmalloc_user/remap_vmalloc_range'])[0];
  if (!cell) throw new MmaplabError('EBENCH', 'the safe benchmark cell is missing from the catalogue');
  const run = await runJob(
    kernel,
    { kind: 'cells', kernel: kernel.release, module: { path: ensureModule(kernel).path, params: {} }, cells: [cell] },
    { ...vm, bootPath: path },
    `bench-${path}`,
  );
  const ready = run.boot.marks[MARK_AGENT_READY];
  const firstCell = run.boot.marks[MARK_CELL_DONE];
  if (ready === undefined || firstCell === undefined) {
    const printed = run.boot.consoleTail.filter((l) => l.trim() !== '').length;
    return `${run.boot.end} after ${s(run.boot.durationMs)} with ${printed} console line(s); see ${run.runDir}`;
  }
  return { ready, firstCell };
}

function s(ms: number): string {
  return Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

function ratio(a: number, b: number): string {
  return Number.isNaN(a) || Number.isNaN(b) ? 'n/a' : `${(a / b).toFixed(2)}x`;
}

export type BootPath = 'vmlinux' | 'bzimage';

export interface BootSeries {
  got: Record<BootPath, BootSample[]>;
  /** Boots that gave no times (the reason is logged). */
  stalled: Record<BootPath, number>;
}

/**
 * `runs` boots of `kernel` per boot path, interleaved so that drift in host
 * load affects both paths alike; each boot is logged to stderr. A boot may
 * take at most BENCH_BOOT_TIMEOUT_MS whatever `vm` allows.
 */
export async function interleavedBoots(kernel: Kernel, vm: VmOptions, runs: number): Promise<BootSeries> {
  const bootVm = { ...vm, timeoutMs: Math.min(vm.timeoutMs, BENCH_BOOT_TIMEOUT_MS) };
  const got: Record<BootPath, BootSample[]> = { vmlinux: [], bzimage: [] };
  const stalled: Record<BootPath, number> = { vmlinux: 0, bzimage: 0 };
  for (let i = 0; i < runs; i++) {
    for (const p of ['vmlinux', 'bzimage'] as const) {
      const x = await sampleBoot(kernel, bootVm, p);
      const head = `${kernel.release} ${p} run ${i + 1}/${runs}`;
      if (typeof x === 'string') {
        stalled[p]++;
        process.stderr.write(`${head}: did not reach the first cell: ${x}\n`);
        continue;
      }
      got[p].push(x);
      process.stderr.write(`${head}: ready ${s(x.ready)}, first cell ${s(x.firstCell)}\n`);
    }
  }
  return { got, stalled };
}

export async function runBenchBoot(opts: CliOptions): Promise<number> {
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  const runs = opts.runs ?? 5;
  const lines: string[] = [];
  // Every kernel needs at least one measured boot on each path.
  let complete = true;
  for (const k of kernels) {
    const vm = await vmOptionsFor(opts, k);
    const { got, stalled } = await interleavedBoots(k, vm, runs);
    if (got.vmlinux.length === 0 || got.bzimage.length === 0) complete = false;
    // A path with no measured boot has no median (printed as n/a).
    const med = (p: BootPath, f: keyof BootSample): number => (got[p].length === 0 ? NaN : median(got[p].map((x) => x[f])));
    const row = (p: BootPath, label: string): string =>
      `  ${label} agent ready ${s(med(p, 'ready'))}, first cell done ${s(med(p, 'firstCell'))}` +
      ` (${got[p].length} of ${runs} boots${stalled[p] > 0 ? `; ${stalled[p]} stalled` : ''})`;
    lines.push(
      `${k.release} (${vm.accel}, median from QEMU start)`,
      row('vmlinux', 'vmlinux (PVH):'),
      row('bzimage', 'bzImage:      '),
      `  bzImage / vmlinux: ${ratio(med('bzimage', 'ready'), med('vmlinux', 'ready'))} to agent ready, ` +
        `${ratio(med('bzimage', 'firstCell'), med('vmlinux', 'firstCell'))} to first cell`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return complete ? 0 : 1;
}
