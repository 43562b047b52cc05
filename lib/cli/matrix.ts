/**
 * `mmaplab matrix`: the selected cells on each kernel, with progress on
 * stderr, the table on stdout and every report format in --out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildReport, currentEnvironment } from '../report/build';
import type { MatrixReport, ReportKernel } from '../report/schema';
import { execute, lastRun, type ExecutionSink } from '../runner/executor';
import { runCellsOnHost } from '../runner/host-target';
import { cellsStep, moduleFor, type Plan, type PlanStep } from '../runner/plan';
import { renderTable, renderTally } from '../report/table';
import { applicableCells, notApplicableLine, type Applicable } from '../experiments/applicable';
import type { CellResult, CellSpec } from '../experiments/types';
import { hostKernelConfig, kernelConfigOf } from '../vm/kernel-config';
import { type Kernel, seriesOf } from '../vm/kernels';
import { interruptedBy } from '../util/interrupt';
import { requireQemu } from '../vm/qemu';
import type { VmOptions, VmRun } from '../vm/session';
import type { KernelFiles } from '../experiments/file-triggers';
import { filesOf, filesSectionOf, filesStep, logFileResult } from './files';
import { type CliOptions, usageError } from './args';
import { buildModules, defaultOutDir, log, qemuVersion } from './common';
import { agreementExit, agreementSummary } from './exit';
import { Progress } from './progress';
import { writeAll } from './reports';
import { selectCells } from './select';
import { bootableKernels, vmOptionsFor } from './vm-options';
import { got } from '../util/at';

type MatrixPlan = Awaited<ReturnType<typeof matrixPlan>>;

/** What a run gathers as it goes: results (in finishing order), each kernel's report entry, the files measurements. */
interface Gathered {
  results: CellResult[];
  boots: Map<string, ReportKernel>;
  measured: KernelFiles[];
}

/** The executor's callbacks: notes and progress as steps and cells start; results, VM counts and files as they end. */
function matrixSink(
  opts: CliOptions,
  plan: MatrixPlan,
  applicable: ReadonlyMap<string, Applicable>,
  progress: Progress,
  got: Gathered,
): ExecutionSink {
  const say = (m: string): void => progress.log(m);
  return {
    stepStarted: (step) => {
      const note = plan.notes.get(step);
      if (note !== undefined) say(note);
    },
    cellStarted: (step, cell) => progress.start(step.kernel.release, cell),
    cellResult: (_step, r) => {
      // After Ctrl-C a VM's end is the kill's, not the cell's: not a result.
      if (interruptedBy() !== null) return;
      progress.result(r);
      got.results.push(r);
    },
    event: (step, e) => logFileResult(step.kernel, e),
    stepDone: (outcome) => {
      const { kernel, vm } = outcome.step;
      const info = got.boots.get(kernel.release) ?? reportKernelOf(kernel, vm.accel, applicable.get(kernel.release));
      countVms(info, outcome.runs);
      got.boots.set(kernel.release, info);
      if (outcome.step.job.kind === 'files') got.measured.push(filesOf(outcome));
      else if (!opts.isolate) {
        const restored = outcome.runs.filter((r) => r.start.kind === 'restored').length;
        say(`${kernel.release}: ${outcome.runs.length} VM(s), ${restored} restored; last run directory ${lastRun(outcome).runDir}`);
      }
    },
  };
}

/** The first line of a message: all of it when it has no newline. */
function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

/** A run that stopped early: the results so far as a report that says why, then the cells that did not run. */
function reportStopped(err: unknown, outDir: string, results: readonly CellResult[], notRun: string[], report: () => MatrixReport): void {
  if (results.length > 0) {
    const stoppedBy = interruptedBy();
    const reason = stoppedBy !== null ? `stopped by ${stoppedBy}` : err instanceof Error ? firstLine(err.message) : String(err);
    const files = writeAll(outDir, { ...report(), stopped: { reason, notRun } });
    log(`the run stopped early; the ${results.length} result(s) so far are in ${files[0]}`);
  } else if (interruptedBy() !== null) {
    log('the run stopped before any cell had a result: no report written');
  }
  for (const line of notRun) log(line);
}

export async function runMatrix(opts: CliOptions): Promise<number> {
  // Usage errors first, before anything slow happens.
  const cells = selectCells(opts);
  if (opts.list) {
    for (const c of cells) process.stdout.write(`${c.id}\n`);
    log(`${cells.length} cell(s) selected`);
    return 0;
  }
  if (opts.target === 'host') return runOnHost(opts, cells);
  if (opts.allowHazards) throw usageError('--allow-hazards is for --target host (VMs take hazards anyway)', 'matrix');
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  const outDir = opts.out ?? defaultOutDir('matrix');
  const applicable = applicableByKernel(kernels, cells);
  const planned = [...applicable.values()].reduce((n, a) => n + a.cells.length, 0);
  // Echoed consoles and a redrawn status line would garble each other.
  const stream = opts.verbose ? { write: (s: string) => process.stderr.write(s), isTTY: false } : process.stderr;
  const progress = new Progress(planned * opts.repeat, stream);
  const modules = buildModules(kernels, (m) => progress.log(m));
  const plan = await matrixPlan(opts, kernels, cells, modules, applicable);
  const got: Gathered = { results: [], boots: new Map(), measured: [] };
  const { results, boots, measured } = got;
  const qemu = qemuVersion();
  const report = (): MatrixReport => ({
    ...buildReport(results, reportKernels(), currentEnvironment('qemu', qemu)),
    ...(measured.length > 0 ? { files: filesSectionOf(measured) } : {}),
  });
  // A kernel none of whose cells could run is still in the report, saying why.
  const reportKernels = (): ReportKernel[] =>
    kernels.flatMap((k) => {
      const info = boots.get(k.release);
      if (info !== undefined) return [info];
      const a = applicable.get(k.release);
      return a !== undefined && a.cells.length === 0 ? [reportKernelOf(k, plan.vms.get(k.release)?.accel ?? 'tcg', a)] : [];
    });
  try {
    const outcomes = await execute(plan, matrixSink(opts, plan, applicable, progress, got));
    // The live list is in finishing order; the report keeps the plan's order.
    results.splice(0, results.length, ...outcomes.flatMap((o) => o.results));
  } catch (err) {
    progress.finish();
    reportStopped(err, outDir, results, notRunLines(applicable, opts.repeat, results), report);
    throw err;
  }
  progress.finish();
  return finishRun(opts, outDir, results, report());
}

/**
 * The matrix as a plan: per round and kernel one cells step (one per cell
 * with --isolate), then the files measurements per kernel. One shard
 * measures the files, so that merged shards hold them once. `notes` are the
 * lines said when a kernel's first step of a round starts.
 */
export async function matrixPlan(
  opts: CliOptions,
  kernels: readonly Kernel[],
  cells: CellSpec[],
  modules: ReadonlyMap<string, string>,
  applicable: ReadonlyMap<string, Applicable> = applicableByKernel(kernels, cells),
): Promise<Plan & { notes: Map<PlanStep, string>; vms: ReadonlyMap<string, VmOptions> }> {
  const steps: PlanStep[] = [];
  const notes = new Map<PlanStep, string>();
  const vms = new Map<string, VmOptions>();
  for (const k of kernels) vms.set(k.release, await vmOptionsFor(opts, k));
  const module = (k: Kernel): string => got(modules, k.release, 'the module built for the kernel');
  for (let round = 1; round <= opts.repeat; round++) {
    const label = opts.repeat > 1 ? ` (round ${round}/${opts.repeat})` : '';
    for (const k of kernels) {
      const vm = got(vms, k.release, 'the VM options of the kernel');
      const { cells: runs, notApplicable } = applicable.get(k.release) ?? { cells, notApplicable: [] };
      const left = notApplicable.map((n) => `; ${notApplicableLine(n)}`).join('');
      if (runs.length === 0) continue;
      const step = cellsStep(k, vm, runs, moduleFor(runs, module(k)), opts.isolate);
      notes.set(step, `${k.release}: ${runs.length} cell(s) under ${vm.accel}${opts.isolate ? ', one boot each' : ''}${label}${left}`);
      steps.push(step);
    }
  }
  if (opts.files && (opts.shard === null || opts.shard.index === 1)) {
    for (const k of kernels) {
      const vm = got(vms, k.release, 'the VM options of the kernel');
      const step = filesStep(k, vm, module(k));
      notes.set(step, `${k.release}: file-backed methods under ${vm.accel}`);
      steps.push(step);
    }
  }
  return { steps, concurrency: opts.jobs, notes, vms };
}

/** Adds `runs` to a kernel's VM counts: how many, how many restored, and why any booted cold. */
export function countVms(info: ReportKernel, runs: readonly VmRun[]): void {
  info.boots += runs.length;
  const restored = runs.filter((r) => r.start.kind === 'restored').length;
  if (restored > 0 || info.restored !== undefined) info.restored = (info.restored ?? 0) + restored;
  for (const r of runs) {
    if (r.start.kind !== 'cold' || r.start.fallback === undefined) continue;
    const why = info.coldFallbacks ?? [];
    if (!why.includes(r.start.fallback)) info.coldFallbacks = [...why, r.start.fallback];
  }
}

/** Per kernel (by release), the selected cells its configuration lets run and those it does not. */
export function applicableByKernel(kernels: readonly Kernel[], cells: readonly CellSpec[]): Map<string, Applicable> {
  return new Map(kernels.map((k) => [k.release, applicableCells(cells, kernelConfigOf(k.buildDir))]));
}

/** A kernel's entry in the report before any VM ran, with the cells it could not run. */
function reportKernelOf(kernel: Pick<Kernel, 'release' | 'series'>, accel: string, applicable: Applicable | undefined): ReportKernel {
  const left = applicable?.notApplicable ?? [];
  return { release: kernel.release, series: kernel.series, accel, boots: 0, ...(left.length > 0 ? { notApplicable: left } : {}) };
}

/**
 * After a run that stopped early: per kernel, the cells that have fewer than
 * `repeat` results (did not run, or not in every round). Empty when all ran.
 * Cells not applicable on a kernel are not counted: they were never to run.
 */
export function notRunLines(
  applicable: ReadonlyMap<string, Pick<Applicable, 'cells'>>,
  repeat: number,
  results: readonly CellResult[],
): string[] {
  const lines: string[] = [];
  for (const [release, { cells }] of applicable) {
    const count = new Map<string, number>();
    for (const r of results) if (r.kernel === release) count.set(r.cell.id, (count.get(r.cell.id) ?? 0) + 1);
    const missing = cells.filter((c) => (count.get(c.id) ?? 0) < repeat).map((c) => c.id);
    if (missing.length === 0) continue;
    const which = missing.length === cells.length ? `all ${cells.length} cell(s)` : missing.join(', ');
    lines.push(`${release}: did not run${repeat > 1 ? ' in every round' : ''}: ${which}`);
  }
  return lines;
}

/** Table on stdout, every report format in outDir, --json, exit status. */
function finishRun(opts: CliOptions, outDir: string, results: CellResult[], final: MatrixReport): number {
  process.stdout.write(`${renderTable(results)}\n`);
  if (opts.repeat > 1) process.stdout.write(`\n${renderTally(results)}\n`);
  const files = writeAll(outDir, final);
  log(`${agreementSummary(final)}; reports in ${outDir}: ${files.map((f) => path.basename(f)).join(', ')}`);
  if (opts.json !== null) {
    fs.writeFileSync(opts.json, JSON.stringify({ generated: final.environment.generated, results }, null, 2));
    log(`results written to ${opts.json}`);
  }
  return agreementExit(final, opts.noFail);
}

/** --target host: the selected cells on this machine's kernel, no VM. */
async function runOnHost(opts: CliOptions, cells: CellSpec[]): Promise<number> {
  if (opts.isolate) throw usageError('--isolate needs VMs (--target qemu)', 'matrix');
  if (opts.kernels.releases.length > 0 || opts.kernels.paths.length > 0) {
    throw usageError('--target host runs the kernel this machine booted; --kernel is for --target qemu', 'matrix');
  }
  if (!opts.allowHazards && opts.hazards === 'yes') {
    const left = cells.filter((c) => c.hazard).length;
    cells = cells.filter((c) => !c.hazard);
    if (left > 0) log(`${left} hazard cell(s) left out: on a real machine they need --allow-hazards`);
  }
  const outDir = opts.out ?? defaultOutDir('matrix');
  const applicable = applicableCells(cells, hostKernelConfig());
  for (const n of applicable.notApplicable) log(`${os.release()}: ${notApplicableLine(n)}`);
  cells = applicable.cells;
  const progress = new Progress(cells.length * opts.repeat, process.stderr);
  const results: CellResult[] = [];
  for (let round = 1; round <= opts.repeat; round++) {
    results.push(
      ...(await runCellsOnHost(cells, {
        allowHazards: opts.allowHazards,
        onStart: (c) => progress.start(os.release(), c),
        onResult: (r) => progress.result(r),
      })),
    );
  }
  progress.finish();
  const kernel = reportKernelOf({ release: os.release(), series: seriesOf(os.release()) }, 'host', applicable);
  return finishRun(opts, outDir, results, buildReport(results, [kernel], currentEnvironment('host', null)));
}
