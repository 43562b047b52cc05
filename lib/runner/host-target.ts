/**
 * `--target host`: the same cells and the same runner as inside a VM, on the
 * machine itself (a lab machine that can insmod). No VM stands between a
 * hazard and the machine, so hazard cells are refused unless the user says
 * --allow-hazards, and a cell that damages the kernel ends the run: the
 * cells after it are reported as not run, with the advice to reboot.
 */
import * as fs from 'node:fs';
import type { CellResult, CellSpec } from '../experiments/types';
import { MmaplabError } from '../util/errors';
import { ensureModule } from '../vm/kmod';
import { CellRunner, damagedKernel } from './cell-runner';
import { runningKernel } from './lab';
import { loadModule, unloadModule } from './module';

export interface HostFacts {
  uid: number;
  /** /proc/sys/kernel/modules_disabled is 1: no insmod until reboot. */
  modulesDisabled: boolean;
}

export function hostFacts(): HostFacts {
  let modulesDisabled = false;
  try {
    modulesDisabled = fs.readFileSync('/proc/sys/kernel/modules_disabled', 'utf8').trim() === '1';
  } catch {
    // no such knob: module loading is not disabled that way
  }
  return { uid: process.getuid?.() ?? -1, modulesDisabled };
}

/** Throws MmaplabError when these cells cannot run on this host; pure, for tests. */
export function hostPreflight(cells: readonly CellSpec[], allowHazards: boolean, facts: HostFacts): void {
  const hazards = cells.filter((c) => c.hazard);
  if (hazards.length > 0 && !allowHazards) {
    throw new MmaplabError(
      'EHAZARD',
      `${hazards.length} selected cell(s) are hazards (e.g. ${hazards[0]?.id}) that can corrupt this machine's ` +
        'kernel: leave them out (--hazards no) or pass --allow-hazards on a machine you can reboot',
    );
  }
  if (facts.uid !== 0) {
    throw new MmaplabError('ENOTROOT', '--target host loads mmaplab.ko with insmod: run as root');
  }
  if (facts.modulesDisabled) {
    throw new MmaplabError('EMODLOAD', 'this kernel has module loading disabled (kernel.modules_disabled=1)');
  }
}

/** A result for a cell that never ran because an earlier one damaged the kernel. */
export function notRun(cell: CellSpec, kernel: string, why: string): CellResult {
  return {
    kernel,
    cell,
    verdict: 'error',
    detail: 'not-run',
    headline: `not run: ${why}; reboot the machine before running more cells`,
    evidence: { kmsg: [], findings: [], taintGained: [], observation: null },
    durationMs: 0,
  };
}

export interface HostRunOptions {
  allowHazards: boolean;
  onStart?: (cell: CellSpec) => void;
  onResult?: (result: CellResult) => void;
}

/** Runs `cells` on the running kernel with the module loaded directly. */
export async function runCellsOnHost(cells: readonly CellSpec[], opts: HostRunOptions): Promise<CellResult[]> {
  hostPreflight(cells, opts.allowHazards, hostFacts());
  const kernel = runningKernel();
  const release = kernel.release;
  const ko = ensureModule(kernel).path;
  loadModule(ko, opts.allowHazards ? { allow_hazards: '1' } : {});
  const runner = new CellRunner({ kernel: release });
  const results: CellResult[] = [];
  try {
    let damage: string | null = null;
    for (const cell of cells) {
      if (damage !== null) {
        results.push(notRun(cell, release, damage));
        continue;
      }
      opts.onStart?.(cell);
      const r = await runner.run(cell);
      results.push(r);
      opts.onResult?.(r);
      // A VM reboots after every hazard to keep cells independent; a lab
      // machine goes on after a hazard that came out ok or was refused, and
      // stops after any other (wrong data may be a write into kernel memory).
      const why = r.cell.hazard ? (r.verdict === 'ok' || r.verdict === 'refused' ? null : `hazard ended ${r.verdict}`) : damagedKernel(r);
      if (why !== null) damage = `${cell.id} damaged the kernel (${why})`;
    }
  } finally {
    runner.close();
    try {
      unloadModule();
    } catch {
      // a damaged kernel may keep the module busy; the report says why
    }
  }
  return results;
}
