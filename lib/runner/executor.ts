/**
 * The one executor: runs a plan's steps (at most `concurrency` at once,
 * started in order) in booted or restored VMs, streams what the guests
 * report to a sink as it happens, and returns each step's outcome in the
 * plan's order.
 */
import type { CellResult, CellSpec } from '../experiments/types';
import { runPool } from '../util/pool';
import type { GuestEvent } from '../vm/job';
import { runJobReady, type VmRun } from '../vm/session';
import { runCells } from './cell-vms';
import type { Plan, PlanStep } from './plan';

export interface StepOutcome {
  step: PlanStep;
  /** A cells step's results, in the order they came (empty for other jobs). */
  results: CellResult[];
  /** Every VM the step took, boot retries and restore attempts included; the last one did the work. */
  runs: VmRun[];
}

/** What a command wants to hear while a plan runs; every member optional. */
export interface ExecutionSink {
  /** A step is about to take its first VM. */
  stepStarted?(step: PlanStep): void;
  /** A cell is starting in its guest. */
  cellStarted?(step: PlanStep, cell: CellSpec): void;
  /** A cell has its verdict (a VM that died in it: once the VM is gone). */
  cellResult?(step: PlanStep, result: CellResult): void;
  /** Any other job's guest event, as it arrives. */
  event?(step: PlanStep, event: GuestEvent): void;
  /** A step is over, with every VM it took. */
  stepDone?(outcome: StepOutcome): void;
}

export async function execute(plan: Plan, sink: ExecutionSink = {}): Promise<StepOutcome[]> {
  return runPool(
    plan.steps.map((step) => () => runStep(step, sink)),
    plan.concurrency,
  );
}

/** One step on its own (what fuzzing and benchmarks do between decisions). */
export async function runStep(step: PlanStep, sink: ExecutionSink = {}): Promise<StepOutcome> {
  sink.stepStarted?.(step);
  let outcome: StepOutcome;
  if (step.job.kind === 'cells') {
    const out = await runCells(step.kernel, step.job.cells, step.job.module, step.vm, {
      isolate: step.isolate ?? false,
      ...(step.label !== undefined ? { label: step.label } : {}),
      onStart: (cell) => sink.cellStarted?.(step, cell),
      onResult: (result) => sink.cellResult?.(step, result),
    });
    outcome = { step, results: out.results, runs: out.runs };
  } else {
    const runs = await runJobReady(step.kernel, step.job, step.vm, step.label ?? step.job.kind, (e) => sink.event?.(step, e));
    outcome = { step, results: [], runs };
  }
  sink.stepDone?.(outcome);
  return outcome;
}

/** The VM that did a step's work: the last one it took. */
export function lastRun(outcome: StepOutcome): VmRun {
  const run = outcome.runs[outcome.runs.length - 1];
  if (run === undefined) throw new Error(`step ${outcome.step.label ?? outcome.step.job.kind} took no VM`);
  return run;
}
