/**
 * `mmaplab bench`: what each mapping method costs and how fast the
 * harness is, per kernel. The guest part (lib/bench/measure.ts) runs in one
 * VM per kernel; the harness part boots the kernel on both boot paths,
 * times cells in a VM that is already up, and saves and restores VMs
 * (lib/cli/bench-restore.ts). Everything lands in bench.json,
 * bench.md and report.html; nothing here judges a time, the report computes
 * the ratios and says which targets were met.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { buildCycleProgram } from '../bench/c-program';
import { stat } from '../bench/stat';
import {
  BENCH_SCHEMA_VERSION,
  type BenchReport,
  type GuestBench,
  type GuestBenchOptions,
  type HarnessBench,
  type KernelBench,
} from '../bench/types';
import { CATALOGUE } from '../experiments/catalogue';
import type { CellSpec } from '../experiments/types';
import { REPO_ROOT } from '../paths';
import { writeBenchOutputs } from '../report/bench-write';
import { MmaplabError } from '../util/errors';
import { MARK_CELL_DONE, type GuestEvent } from '../vm/job';
import { type Kernel } from '../vm/kernels';
import { requireQemu } from '../vm/qemu';
import { lastRun, runStep } from '../runner/executor';
import { describeFailure, type VmOptions } from '../vm/session';
import type { CliOptions } from './args';
import { interleavedBoots } from './bench-boot';
import { restorePart } from './bench-restore';
import { buildModules, defaultOutDir, log } from './common';
import { bootableKernels, vmOptionsFor } from './vm-options';
import { got } from '../util/at';

const KIB = 1024;
const MIB = 1024 * KIB;
export const BENCH_SIZES: readonly number[] = [64 * KIB, 2 * MIB, 64 * MIB];
export const QUICK_SIZES: readonly number[] = [64 * KIB];
/** Cells timed one after another in one warm VM for the per-cell figure. */
export const CELLS_PER_VM = 12;

/** The guest part's options from the command line (--quick sets the smoke-run defaults). */
export function guestOptionsFrom(opts: CliOptions, cProgram: string | null): GuestBenchOptions {
  return {
    sizes: opts.sizes.length > 0 ? [...opts.sizes] : [...(opts.quick ? QUICK_SIZES : BENCH_SIZES)],
    reps: opts.reps ?? (opts.quick ? 1 : 5),
    cacheModes: true,
    cProgram,
  };
}

/** Boots per path: --runs, else 5 (1 with --quick). */
export function bootRunsFrom(opts: CliOptions): number {
  return opts.runs ?? (opts.quick ? 1 : 5);
}

/** Safe basic cells of the default profile, one per allocator x method, for the warm-VM figure. */
export function warmCells(n: number): CellSpec[] {
  const seen = new Set<string>();
  const out: CellSpec[] = [];
  for (const c of CATALOGUE) {
    if (c.hazard || c.scenario !== 'basic' || c.profile !== 'default' || c.cache !== 'wb' || c.faultAround || c.reserved) continue;
    const pair = `${c.alloc}/${c.method}`;
    if (seen.has(pair)) continue;
    seen.add(pair);
    out.push(c);
    if (out.length === n) break;
  }
  return out;
}

async function guestPart(k: Kernel, vm: VmOptions, modulePath: string, options: GuestBenchOptions): Promise<GuestBench> {
  log(`${k.release}: mapping costs (${options.sizes.length} sizes, ${options.reps} repetitions) under ${vm.accel}`);
  const run = lastRun(
    await runStep({ kernel: k, vm, job: { kind: 'bench', kernel: k.release, module: { path: modulePath, params: {} }, options } }),
  );
  const result = run.events.find((e): e is Extract<GuestEvent, { type: 'bench-result' }> => e.type === 'bench-result');
  if (run.agentStatus !== 0 || result === undefined) {
    throw new MmaplabError('EGUEST', describeFailure(k, run), { runDir: run.runDir });
  }
  return result.result;
}

/** Console times of every "cell done" mark in one boot running `cells`. */
async function cellMarks(k: Kernel, vm: VmOptions, modulePath: string, cells: CellSpec[]): Promise<number[]> {
  const marks: number[] = [];
  const onLine = (line: string, ms: number): void => {
    if (line.includes(MARK_CELL_DONE)) marks.push(ms);
  };
  const run = lastRun(
    await runStep({
      kernel: k,
      vm: { ...vm, onLine },
      job: { kind: 'cells', kernel: k.release, module: { path: modulePath, params: {} }, cells },
      label: 'bench-cells',
    }),
  );
  if (run.agentStatus !== 0 || marks.length < cells.length) {
    throw new MmaplabError('EGUEST', describeFailure(k, run), { runDir: run.runDir });
  }
  return marks.slice(-cells.length);
}

async function harnessPart(k: Kernel, vm: VmOptions, modulePath: string, runs: number): Promise<HarnessBench> {
  const { got } = await interleavedBoots(k, vm, runs);
  if (got.vmlinux.length === 0 || got.bzimage.length === 0) {
    throw new MmaplabError('EBENCH', `${k.release}: no boot reached its first cell on one of the boot paths`);
  }
  const cells = warmCells(CELLS_PER_VM);
  const marks = await cellMarks(k, vm, modulePath, cells);
  // The first cell carries the probe's start; the gaps after it are the per-cell cost.
  const gaps = marks.flatMap((t, i) => {
    const next = marks[i + 1];
    return next === undefined ? [] : [next - t];
  });
  log(`${k.release}: ${cells.length} cells in one VM, ${gaps.length} gaps timed`);
  const restore = await restorePart(k, vm, modulePath, runs);
  return {
    agentReadyVmlinuxMs: stat(got.vmlinux.map((x) => x.ready)),
    agentReadyBzimageMs: stat(got.bzimage.map((x) => x.ready)),
    firstCellMs: stat(got.vmlinux.map((x) => x.firstCell)),
    perCellMs: stat(gaps),
    restore,
  };
}

/** Runs the default matrix of these kernels as a user would, and times it. */
function timeMatrix(kernels: readonly Kernel[], outDir: string): Promise<number> {
  const args = [path.join(REPO_ROOT, 'dist', 'lib', 'cli.js'), 'matrix', '--no-fail', '--out', path.join(outDir, 'matrix')];
  for (const k of kernels) args.push('--kernel', k.release);
  log(`timing the default matrix: ${args.slice(1).join(' ')}`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new MmaplabError('EBENCH', `the timed matrix run exited with status ${status}`));
      else resolve(Date.now() - started);
    });
  });
}

export async function runBench(opts: CliOptions): Promise<number> {
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  const modules = buildModules(kernels, log);
  const cProgram = buildCycleProgram();
  const options = guestOptionsFrom(opts, cProgram);
  const runs = bootRunsFrom(opts);
  const outDir = opts.out ?? defaultOutDir('bench');
  const results: KernelBench[] = [];
  let firstVm: VmOptions | null = null;
  for (const k of kernels) {
    const vm = await vmOptionsFor(opts, k);
    firstVm ??= vm;
    const modulePath = got(modules, k.release, 'the module built for the kernel');
    const guest = await guestPart(k, vm, modulePath, options);
    const harness = opts.harness ? await harnessPart(k, vm, modulePath, runs) : null;
    results.push({ kernel: k.release, mapCost: guest.mapCost, addonOverhead: guest.addonOverhead, harness });
  }
  const matrixWallMs = opts.matrixTime ? await timeMatrix(kernels, outDir) : null;
  const report: BenchReport = {
    schema: 'mmaplab-bench',
    version: BENCH_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    environment: {
      accel: firstVm?.accel ?? 'tcg',
      hostCpus: os.cpus().length,
      hostModel: os.cpus()[0]?.model ?? 'unknown',
      guestCpus: firstVm?.cpus ?? null,
      guestMemoryMb: firstVm?.memoryMb ?? null,
    },
    options: { ...options, bootRuns: runs, cellsPerVm: opts.harness ? CELLS_PER_VM : 0 },
    kernels: results,
    matrixWallMs,
  };
  const files = writeBenchOutputs(report, outDir);
  log(`benchmarks written: ${files.json}, ${files.md}, ${files.html}`);
  return 0;
}
