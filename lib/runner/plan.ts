/**
 * A plan: what a command wants run, as plain data. Each step is one job on
 * one kernel in VMs of one shape; the executor (executor.ts) runs the steps
 * against booted or restored VMs and streams what they report. Commands build
 * plans from their arguments and render the outcomes; nothing below them
 * sees the command line.
 */
import type { CellSpec } from '../experiments/types';
import type { Job, ModuleLoad } from '../vm/job';
import type { Kernel } from '../vm/kernels';
import type { VmOptions } from '../vm/session';

export interface PlanStep {
  kernel: Kernel;
  /** The VM's shape, accelerator, deadline and whether it may be restored. */
  vm: VmOptions;
  /**
   * A cells job takes as many VMs as the damage its cells do needs (and one
   * per cell with `isolate`); any other job takes one VM.
   */
  job: Job;
  /** Every cell in a VM of its own, so that no verdict depends on an earlier cell. */
  isolate?: boolean;
  /** Names the step's run directories (`cells`, `files`, `suite`...); the job's kind when absent. */
  label?: string;
}

export interface Plan {
  steps: PlanStep[];
  /** Steps run at once, started in order (each takes a VM, which keeps about two cores busy under TCG). */
  concurrency: number;
}

/** A step running `cells` on `kernel` with the module loaded with `module`. */
export function cellsStep(kernel: Kernel, vm: VmOptions, cells: CellSpec[], module: ModuleLoad, isolate = false): PlanStep {
  return { kernel, vm, job: { kind: 'cells', kernel: kernel.release, module, cells }, isolate };
}

/** The module as the cells need it loaded: hazards need allow_hazards=1. */
export function moduleFor(cells: readonly CellSpec[], modulePath: string): ModuleLoad {
  return { path: modulePath, params: cells.some((c) => c.hazard) ? { allow_hazards: '1' } : {} };
}
