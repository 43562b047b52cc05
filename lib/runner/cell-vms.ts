/**
 * Cells in VMs on one kernel: grouped by boot profile, safe cells before
 * hazards, in one VM until a cell damages the kernel or the VM dies; the
 * rest continue in a fresh one. The cell a VM died in gets its verdict from
 * the console (an oops or panic) or the deadline (a hang).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BootProfile, CellResult, CellSpec } from '../experiments/types';
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';
import { classifyConsole } from '../vm/console';
import { MARK_AGENT_READY, MARK_CELL_DONE, type GuestEvent, type Job, type ModuleLoad } from '../vm/job';
import type { Kernel } from '../vm/kernels';
import { describeFailure, runJobReady, type VmOptions, type VmRun } from '../vm/session';

export interface CellsOutcome {
  results: CellResult[];
  runs: VmRun[];
}

/** Kernel command-line words each boot profile adds. */
export const PROFILE_CMDLINE: Record<BootProfile, readonly string[]> = {
  default: [],
  // Freed pages are filled with the poison byte 0xaa (page_poison takes
  // precedence over init_on_free, which stays as the fallback on a kernel
  // without CONFIG_PAGE_POISONING), slab objects are poisoned and checked:
  // a mapping that outlives its memory shows it.
  poison: ['page_poison=1', 'init_on_free=1', 'slub_debug=FZPU'],
};

/** KFENCE sampling on a poison boot, where the kernel was built with KFENCE. */
export const KFENCE_CMDLINE = 'kfence.sample_interval=100';

/** The command-line words of `profile` for this kernel (KFENCE only where configured). */
export function profileCmdline(profile: BootProfile, kernel: Kernel): string[] {
  const words = [...PROFILE_CMDLINE[profile]];
  if (profile === 'poison' && kernelConfig(kernel).has('CONFIG_KFENCE')) words.push(KFENCE_CMDLINE);
  return words;
}

/** The =y options of the kernel's config (/boot/config-R, or .config of a build tree); empty if none. */
export function kernelConfig(kernel: Kernel): Set<string> {
  for (const file of [`/boot/config-${kernel.release}`, path.join(kernel.buildDir, '.config')]) {
    try {
      const text = fs.readFileSync(file, 'utf8');
      return new Set(text.split('\n').flatMap((l) => /^(CONFIG_\w+)=y$/.exec(l)?.slice(1, 2) ?? []));
    } catch {
      // try the next place
    }
  }
  return new Set();
}

export interface RunCellsOptions {
  /** Names the run directories (default `cells`). */
  label?: string;
  /**
   * Every cell in a boot of its own, so no cell's verdict can depend on what
   * ran before it in the same kernel (slower: one boot per cell).
   */
  isolate?: boolean;
  /** A cell is starting in the guest (from its event stream, as it happens). */
  onStart?: (cell: CellSpec) => void;
  /**
   * A cell has its result: called once for every result runCells returns, in
   * the same order, as soon as it is known (a VM that died in a cell yields
   * that cell's result when the VM is gone).
   */
  onResult?: (result: CellResult) => void;
}

/**
 * Run all cells on one kernel: grouped by boot profile, safe cells before
 * hazards (fewer reboots), rebooting after a cell that damaged the kernel;
 * with `isolate`, one boot per cell.
 */
export async function runCells(
  kernel: Kernel,
  cells: CellSpec[],
  module: ModuleLoad,
  vm: VmOptions,
  options: RunCellsOptions = {},
): Promise<CellsOutcome> {
  const out: CellsOutcome = { results: [], runs: [] };
  for (const profile of Object.keys(PROFILE_CMDLINE) as BootProfile[]) {
    const group = cells.filter((c) => c.profile === profile);
    const ordered = [...group.filter((c) => !c.hazard), ...group.filter((c) => c.hazard)];
    if (ordered.length === 0) continue;
    const profileVm = { ...vm, cmdline: [...vm.cmdline, ...profileCmdline(profile, kernel)] };
    for (const batch of options.isolate ? ordered.map((c) => [c]) : [ordered]) {
      const r = await runCellGroup(kernel, batch, module, profileVm, options);
      out.results.push(...r.results);
      out.runs.push(...r.runs);
    }
  }
  return out;
}

/**
 * A cell job's share of the VM deadline per cell: about twenty times a safe
 * cell's median in a restored VM of a stock kernel under TCG (0.26 s). The
 * deadline is the last resort: a cell that stalls is caught by the idle
 * watchdog (CELL_IDLE_MS, lib/vm/session) within 30 s. At 1 s a cell, the
 * 6.1 debug kernel's safe cells (KASAN, lockdep; 1.2 s each on a loaded
 * host) ran into it after 1246 cells in 28 min, and the cell under way
 * read as a hang of the kernel.
 */
export const CELL_DEADLINE_SHARE_MS = 5000;

/**
 * The deadline of a VM that runs `cells` cells: the per-VM deadline
 * (--timeout) for its boot and start, plus a share per cell. A fixed
 * deadline ended the safe cells' VM of a full matrix, still running, once
 * the use cells took it past 300 s, and its cell under way read as a hang.
 */
export function cellsDeadlineMs(baseMs: number, cells: number): number {
  return baseMs + cells * CELL_DEADLINE_SHARE_MS;
}

async function runCellGroup(
  kernel: Kernel,
  cells: CellSpec[],
  module: ModuleLoad,
  vm: VmOptions,
  hooks: RunCellsOptions,
): Promise<CellsOutcome> {
  const results: CellResult[] = [];
  const runs: VmRun[] = [];
  let pending = cells.slice();
  while (pending.length > 0) {
    const byId = new Map(pending.map((c) => [c.id, c]));
    const live = (e: GuestEvent): void => {
      if (e.type === 'cell-start') {
        const cell = byId.get(e.id);
        if (cell) hooks.onStart?.(cell);
      }
      if (e.type === 'cell-result') hooks.onResult?.(e.result);
    };
    const job: Job = { kind: 'cells', kernel: kernel.release, module, cells: pending };
    const vmForCells = { ...vm, timeoutMs: cellsDeadlineMs(vm.timeoutMs, pending.length) };
    const attempts = await runJobReady(kernel, job, vmForCells, hooks.label ?? 'cells', live);
    runs.push(...attempts);
    const run = at(attempts, attempts.length - 1, 'the last VM of the cells');
    const finished = new Set<string>();
    let started: string | null = null;
    for (const e of run.events) {
      if (e.type === 'cell-start') started = e.id;
      if (e.type === 'cell-result') {
        results.push(e.result);
        finished.add(e.result.cell.id);
        started = null;
      }
    }
    if (started !== null) {
      // The VM died inside this cell: the console is the only witness left.
      const cell = pending.find((c) => c.id === started) as CellSpec;
      const dead = deadVmResult(kernel, cell, run);
      results.push(dead);
      hooks.onResult?.(dead);
      finished.add(cell.id);
    }
    const ready = run.events.some((e) => e.type === 'ready');
    if (finished.size === 0) {
      if (!ready) throw new MmaplabError('EGUEST', describeFailure(kernel, run), { runDir: run.runDir });
      const err = run.events.find((e): e is Extract<GuestEvent, { type: 'error' }> => e.type === 'error');
      throw new MmaplabError('EGUEST', describeFailure(kernel, run) + (err ? `\n${err.message}` : ''), {
        runDir: run.runDir,
      });
    }
    pending = pending.filter((c) => !finished.has(c.id));
  }
  return { results, runs };
}

/**
 * The console lines of the cell a VM died in: everything after the last
 * cell's done mark, from the whole console log (an oops can scroll out of
 * the last 60 lines), or the tail if the log cannot be read.
 */
export function lastCellConsole(run: Pick<VmRun, 'boot'>): string[] {
  let lines: string[];
  try {
    lines = fs
      .readFileSync(run.boot.consoleFile, 'utf8')
      .split('\n')
      .map((l) => l.replace(/\r$/, ''));
  } catch {
    return run.boot.consoleTail;
  }
  let from = 0;
  lines.forEach((l, i) => {
    if (l.includes(MARK_CELL_DONE) || l.includes(MARK_AGENT_READY)) from = i + 1;
  });
  return lines.slice(from);
}

function deadVmResult(kernel: Kernel, cell: CellSpec, run: VmRun): CellResult {
  const lines = lastCellConsole(run);
  const findings = classifyConsole(lines);
  const panic = run.boot.end === 'panic' || findings.some((f) => f.severity === 'panic');
  // An oops on the console explains a VM that then stopped answering.
  const oopsed = findings.some((f) => f.severity === 'oops');
  const headline = findings[0]?.line ?? (run.boot.end === 'timeout' ? 'VM stopped answering' : 'VM died without a message');
  return {
    kernel: kernel.release,
    cell,
    verdict: panic ? 'panic' : oopsed || run.boot.end !== 'timeout' ? 'oops' : 'hang',
    detail: findings[0]?.kind ?? run.boot.end,
    headline,
    evidence: {
      kmsg: [],
      findings,
      taintGained: [],
      observation: null,
      // The start (the report's header) and the end (how it ended) of a long one.
      console: lines.length <= 60 ? lines : [...lines.slice(0, 40), '...', ...lines.slice(-20)],
    },
    durationMs: run.boot.durationMs,
  };
}
