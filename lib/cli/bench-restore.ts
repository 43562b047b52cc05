/**
 * The restore part of `mmaplab bench`'s harness figures: what "restore
 * instead of boot" (lib/vm/template.ts) costs and saves, per kernel. Each
 * repetition saves a template of its own, under a key of its own so the
 * cached template the matrix restores from is left alone, restores one copy
 * of it running a hazard cell, and discards it. The cold boot it is compared
 * with is the vmlinux boots the harness part times anyway.
 */
import { stat } from '../bench/stat';
import { RESTORE_FIGURES, type RestoreBench, type RestoreFigure, type Stat } from '../bench/types';
import { findCells } from '../experiments/catalogue';
import type { CellSpec } from '../experiments/types';
import { moduleFor } from '../runner/plan';
import { MmaplabError } from '../util/errors';
import { MARK_AGENT_READY, MARK_CELL_DONE, type GuestEvent, type Job } from '../vm/job';
import type { Kernel } from '../vm/kernels';
import { lastStderrLine, qemuVersionLine, type BootOutcome } from '../vm/qemu';
import { newRunDir, runJob, templateShapeOf, type VmOptions, type VmRun, type VmStart } from '../vm/session';
import { discardTemplate, saveTemplate, templateInputs, type Template, type TemplateInputs, type TemplateMeta } from '../vm/template';
import { BENCH_BOOT_TIMEOUT_MS } from './bench-boot';
import { log } from './common';

/**
 * The hazard cell a restored copy runs: one whose kernel complaint (Bad
 * page state) came in every run on both kernels and leaves the kernel
 * running, so the copy always reaches a verdict to time. The missing
 * get_page on slab memory, used before, also oopses or hangs on 6.1 in
 * some runs: a clean-clone CI run lost its figure to that.
 */
export const BENCH_HAZARD_CELL = 'pages_nocomp/fault_page/16K/basic';

/** The figures of one repetition; a figure it did not get is absent. */
export type RestoreSample = Partial<Record<RestoreFigure, number>>;

/** The template figures of a saved template: its boot to the agent waiting, and the save after it. */
export function saveFigures(meta: Pick<TemplateMeta, 'readyMs' | 'savedMs'>): RestoreSample {
  return { templateReadyMs: meta.readyMs, saveMs: meta.savedMs - meta.readyMs };
}

/** The figures of a restored copy's run, each from QEMU's start; absent where the copy never got there. */
export function restoredFigures(run: { boot: Pick<BootOutcome, 'marks'>; start: VmStart }): RestoreSample {
  const out: RestoreSample = {};
  if (run.start.kind === 'restored' && run.start.loadedMs !== null) out.loadedMs = run.start.loadedMs;
  const ready = run.boot.marks[MARK_AGENT_READY];
  if (ready !== undefined) out.restoreReadyMs = ready;
  // One cell: the first "cell done" line is its verdict.
  const done = run.boot.marks[MARK_CELL_DONE];
  if (done !== undefined) out.hazardCellMs = done;
  return out;
}

/** A restored copy's figures as people read them. */
const COPY_FIGURES: ReadonlyArray<[RestoreFigure, string]> = [
  ['loadedMs', 'its state loaded'],
  ['restoreReadyMs', 'its agent ready'],
  ['hazardCellMs', "the cell's verdict"],
];

/** What a restored copy that fell short did not get to, in one line. */
export function shortfall(run: Pick<VmRun, 'runDir'> & { boot: Pick<BootOutcome, 'end'> }, got: RestoreSample): string {
  const missing = COPY_FIGURES.filter(([f]) => got[f] === undefined).map(([, words]) => words);
  return `the restored copy ended (${run.boot.end}) without ${missing.join(', ')} (run directory ${run.runDir})`;
}

/** Every figure over the repetitions: a Stat of the samples that have it, null where none has. */
export function restoreBench(samples: readonly RestoreSample[], hazardCell: string, failures: readonly string[]): RestoreBench {
  const figure = (f: RestoreFigure): Stat | null => {
    const xs = samples.flatMap((x) => {
      const v = x[f];
      return v === undefined ? [] : [v];
    });
    return xs.length === 0 ? null : stat(xs);
  };
  const figures = Object.fromEntries(RESTORE_FIGURES.map((f) => [f, figure(f)])) as Record<RestoreFigure, Stat | null>;
  return { ...figures, hazardCell, failures: [...failures] };
}

/** The inputs of a bench template: the cached one's, under a key no other template has. */
export function benchTemplateInputs(inputs: TemplateInputs, repetition: number, pid: number = process.pid): TemplateInputs {
  return { ...inputs, key: `${inputs.key}-bench-${pid}-${repetition}` };
}

function benchHazardCell(): CellSpec {
  const cell = findCells([BENCH_HAZARD_CELL]).find((c) => c.id === BENCH_HAZARD_CELL);
  if (cell === undefined) throw new MmaplabError('EBENCH', `the hazard cell ${BENCH_HAZARD_CELL} is missing from the catalogue`);
  return cell;
}

function s(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

/** The verdict the copy's cell got, for the log. */
function cellVerdict(run: VmRun): string {
  const result = run.events.find((e): e is Extract<GuestEvent, { type: 'cell-result' }> => e.type === 'cell-result');
  return result?.result.verdict ?? 'none';
}

/** One restored copy of `t` running the hazard cell; the figures it gave, and why it fell short if it did. */
async function restoredRun(k: Kernel, vm: VmOptions, t: Template, job: Job): Promise<{ got: RestoreSample; failure: string | null }> {
  const run = await runJob(k, job, { ...vm, timeoutMs: Math.min(vm.timeoutMs, BENCH_BOOT_TIMEOUT_MS) }, 'bench-restored', undefined, t);
  const got = restoredFigures(run);
  const complete = COPY_FIGURES.every(([f]) => got[f] !== undefined);
  log(
    `${k.release} restored copy: state loaded ${s(got.loadedMs)}, agent ready ${s(got.restoreReadyMs)}, ` +
      `hazard cell ${s(got.hazardCellMs)} (${cellVerdict(run)})`,
  );
  return { got, failure: complete ? null : shortfall(run, got) };
}

/** Saves a repetition may make: a second when the first guest died while booting. */
export const BENCH_SAVES = 2;

/**
 * Whether a failed save is tried again: when its guest panicked, which while
 * booting is more often TCG's code-patching race (one boot in about a
 * hundred, see lib/vm/saved-vms) than anything a second boot would repeat.
 * The figures then come from the second save's boot, whole.
 */
export function saveAgain(outcome: Pick<BootOutcome, 'end'>, attempt: number): boolean {
  return outcome.end === 'panic' && attempt < BENCH_SAVES;
}

/** A template of its own for repetition `i`, saved again once if its guest panicked; null with why, if none. */
async function saveForRepetition(
  k: Kernel,
  vm: VmOptions,
  inputs: TemplateInputs,
  i: number,
): Promise<{ template: Template } | { failure: string }> {
  for (let attempt = 1; ; attempt++) {
    const runDir = newRunDir(k, 'bench-template');
    const saved = await saveTemplate(k, templateShapeOf(vm), benchTemplateInputs(inputs, i), runDir, { prune: false });
    if (saved.template !== null) return { template: saved.template };
    const why = lastStderrLine(saved.outcome) ?? saved.outcome.end;
    if (!saveAgain(saved.outcome, attempt)) return { failure: `saving a template failed: ${why} (run directory ${runDir})` };
    log(`${k.release}: saving the template failed: ${why} (run directory ${runDir}); saving it again`);
  }
}

/** One repetition: save a template of its own, restore one copy of it, discard it. */
async function restoreRepetition(
  k: Kernel,
  vm: VmOptions,
  inputs: TemplateInputs,
  job: Job,
  i: number,
): Promise<{ got: RestoreSample; failure: string | null }> {
  const saved = await saveForRepetition(k, vm, inputs, i);
  if ('failure' in saved) return { got: {}, failure: saved.failure };
  const t = saved.template;
  try {
    const figures = saveFigures(t.meta);
    log(`${k.release} template: agent waiting ${s(figures.templateReadyMs)}, saved in ${s(figures.saveMs)}`);
    const copy = await restoredRun(k, vm, t, job);
    return { got: { ...figures, ...copy.got }, failure: copy.failure };
  } finally {
    discardTemplate(t.dir);
  }
}

/** `runs` repetitions of save and restore for `k`, in the VM shape of `vm`; never throws for a repetition that fell short. */
export async function restorePart(k: Kernel, vm: VmOptions, modulePath: string, runs: number): Promise<RestoreBench> {
  const cell = benchHazardCell();
  let inputs: TemplateInputs;
  try {
    inputs = templateInputs(k, templateShapeOf(vm), qemuVersionLine());
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`${k.release}: the restore path is not measured: ${why}`);
    return restoreBench([], cell.id, [why]);
  }
  const job: Job = { kind: 'cells', kernel: k.release, module: moduleFor([cell], modulePath), cells: [cell] };
  const samples: RestoreSample[] = [];
  const failures: string[] = [];
  for (let i = 1; i <= runs; i++) {
    log(`${k.release}: restore run ${i}/${runs}`);
    const { got, failure } = await restoreRepetition(k, vm, inputs, job, i);
    samples.push(got);
    if (failure !== null) failures.push(`run ${i}/${runs}: ${failure}`);
  }
  return restoreBench(samples, cell.id, failures);
}
