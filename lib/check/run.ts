/**
 * `mmaplab check` on the host: the user's module built (or taken) for a
 * kernel, one VM that loads it and runs the scenarios (lib/check/guest),
 * and what came back turned into one result per scenario. A VM that dies
 * in a scenario makes that scenario's verdict 'vm-died' (with what the
 * console said); the ones after it run in a fresh VM.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastRun, runStep } from '../runner/executor';
import { MmaplabError } from '../util/errors';
import { classifyConsole } from '../vm/console';
import type { GuestEvent, Job } from '../vm/job';
import type { Kernel } from '../vm/kernels';
import { ensureUserModule } from '../vm/kmod';
import { describeFailure, type VmOptions, type VmRun } from '../vm/session';
import type { BootProfile } from '../experiments/types';
import { profileCmdline } from '../runner/cell-vms';
import type { SetupHook } from './hook';
import type { SetupStep } from './setup';
import { checkFindingOf, type CheckItem, checkItems, type CheckResult, type CheckTarget } from './types';

/** Where the module comes from: a source directory built per kernel, or a built .ko for one kernel. */
export type ModuleSource = { kmod: string } | { ko: string };

export interface CheckOptions {
  module: ModuleSource;
  params: Record<string, string>;
  device: string;
  /** Bytes of the driver's buffer a mapping may cover. */
  size: number;
  /** Steps on every freshly opened descriptor (--setup FILE.json; default none). */
  setup?: SetupStep[];
  /** A hook run on every freshly opened descriptor, after the steps (--setup FILE.js|.ts; default none). */
  hook?: SetupHook | null;
  /** The /proc/devices name to make the node from (--chrdev; default: the one the module added). */
  chrdev?: string | null;
  /** The node's minor when mmaplab makes it (--minor; default 0). */
  minor?: number;
  /** The kernel command-line profile the VMs boot with (--profile; default 'default'). */
  profile?: BootProfile;
  /** Also run the matrix's uses on the mapping (--uses; default true). */
  uses?: boolean;
}

/** A VM a check took: where its files are, and whether it was restored from a template or booted cold. */
export interface CheckVm {
  runDir: string;
  start: 'restored' | 'cold';
}

export interface KernelCheck {
  kernel: string;
  /** The node checked (the one --device named, or the pattern's match). */
  device: string;
  /** Every node a --device pattern matched (each gets a check of its own); empty for a plain node. */
  nodes: string[];
  /** The .ko that was loaded. */
  modulePath: string;
  /** Compiler warnings of the build (none when it came from the cache or --ko). */
  buildWarnings: string[];
  results: CheckResult[];
  /** One per VM, in order: a scenario that broke the kernel ends one. */
  vms: CheckVm[];
  /** What the guests said about getting the node (made from /proc/devices), once each. */
  notes: string[];
}

/** What the guest (or this machine, --target host) needs to know to check `ko` as `o` says. */
export function targetOf(o: CheckOptions, ko: string): CheckTarget {
  return {
    device: o.device,
    size: o.size,
    moduleName: moduleName(ko),
    setup: o.setup ?? [],
    hook: o.hook ?? null,
    chrdev: o.chrdev ?? null,
    minor: o.minor ?? 0,
  };
}

/** The check results among a run's events, in the order they came. */
export function checkResultsOf(events: readonly GuestEvent[]): CheckResult[] {
  return events.filter((e): e is Extract<GuestEvent, { type: 'check-result' }> => e.type === 'check-result').map((e) => e.result);
}

/** rmmod's name for a .ko by its file name: the base name with '-' as '_'. */
export function moduleNameOf(koPath: string): string {
  return path.basename(koPath, '.ko').replace(/-/g, '_');
}

/** The module's own name (modinfo), which a renamed .ko keeps; the file name's without modinfo. */
export function moduleName(koPath: string): string {
  const r = spawnSync('modinfo', ['-F', 'name', koPath], { encoding: 'utf8' });
  const name = r.status === 0 ? r.stdout.trim() : '';
  return /^[\w-]+$/.test(name) ? name.replace(/-/g, '_') : moduleNameOf(koPath);
}

function resolveModule(k: Kernel, source: ModuleSource): { path: string; warnings: string[] } {
  if ('kmod' in source) {
    const built = ensureUserModule(k, source.kmod);
    return { path: built.path, warnings: built.warnings };
  }
  const ko = path.resolve(source.ko);
  if (!fs.existsSync(ko)) throw new MmaplabError('EUSAGE', `--ko ${source.ko}: no such file`);
  return { path: ko, warnings: [] };
}

/** Every console line of a VM, or the tail the launcher kept when the file is gone. */
function consoleLines(run: VmRun): string[] {
  try {
    return fs.readFileSync(run.boot.consoleFile, 'utf8').split(/\r?\n/);
  } catch {
    return run.boot.consoleTail;
  }
}

/**
 * What one VM reported: a result per scenario it finished, and a 'vm-died'
 * result for the one it was in when it ended without finishing it (with
 * what the console said). Scenarios it never started are not here.
 */
export function resultsFromRun(run: VmRun): CheckResult[] {
  const results = checkResultsOf(run.events);
  const done = new Set<CheckItem>(results.map((r) => r.scenario));
  const started = run.events.filter((e): e is Extract<GuestEvent, { type: 'check-start' }> => e.type === 'check-start');
  const inFlight = started.map((e) => e.scenario).find((s) => !done.has(s));
  if (inFlight !== undefined) {
    // The whole console (an oops's first line is often above the tail), from the
    // last scenario mark on: what came before belongs to finished scenarios or the boot.
    const all = consoleLines(run);
    const mark = all.reduce((at, l, i) => (/MMAPLAB-(CELL-DONE|AGENT-READY)/.test(l) ? i : at), -1);
    const lines = all.slice(mark + 1);
    const findings = classifyConsole(lines);
    const first = findings[0];
    const from = first === undefined ? -1 : lines.findIndex((l) => l.includes(first.line));
    results.push({
      scenario: inFlight,
      verdict: 'vm-died',
      detail: first !== undefined ? `${first.kind}: ${first.line}` : `the VM ended (${run.boot.end}) in this scenario`,
      findings: findings.map(checkFindingOf),
      taintGained: [],
      kmsg: from >= 0 ? lines.slice(from, from + 40) : run.boot.consoleTail.slice(-40),
      durationMs: 0,
    });
  }
  return results;
}

/** One VM for `scenarios` (in order); what it reported. An error when it ran none of them. */
async function checkInVm(
  k: Kernel,
  vm: VmOptions,
  o: CheckOptions,
  mod: string,
  scenarios: CheckItem[],
): Promise<{ results: CheckResult[]; vm: CheckVm; notes: string[]; nodes: string[] }> {
  const target = targetOf(o, mod);
  const job: Job = { kind: 'check', kernel: k.release, module: { path: mod, params: o.params }, check: { target, scenarios } };
  const run = lastRun(await runStep({ kernel: k, vm, job, label: 'check' }));
  const error = run.events.find((e): e is Extract<GuestEvent, { type: 'error' }> => e.type === 'error');
  const reported = run.events.some((e) => e.type === 'check-start');
  if (error !== undefined || !reported) {
    // The module did not load, its node never appeared, or the agent failed: no verdict to give.
    const why = error !== undefined ? error.message : describeFailure(k, run);
    throw new MmaplabError('ECHECK', `${k.release}: ${why}\nrun directory: ${run.runDir}`, { runDir: run.runDir });
  }
  const notes = run.events.filter((e): e is Extract<GuestEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
  const nodes = run.events.find((e): e is Extract<GuestEvent, { type: 'check-nodes' }> => e.type === 'check-nodes')?.nodes ?? [];
  return { results: resultsFromRun(run), vm: { runDir: run.runDir, start: run.start.kind }, notes, nodes };
}

/**
 * Build or take the module, then run every scenario: in one VM while the
 * kernel stays well, and in a fresh one after a scenario that broke it (a
 * complaint, or the VM died), so one bad scenario costs one VM and the
 * rest still run.
 */
export async function checkKernel(k: Kernel, base: VmOptions, o: CheckOptions): Promise<KernelCheck> {
  const mod = resolveModule(k, o.module);
  const words = profileCmdline(o.profile ?? 'default', k);
  const vm: VmOptions = { ...base, cmdline: [...base.cmdline, ...words] };
  const results: CheckResult[] = [];
  const vms: CheckVm[] = [];
  const notes = new Set<string>(words.length > 0 ? [`booted with the ${o.profile} profile: ${words.join(' ')}`] : []);
  let left: CheckItem[] = checkItems(o.uses ?? true);
  let nodes: string[] = [];
  while (left.length > 0) {
    const got = await checkInVm(k, vm, o, mod.path, left);
    if (got.nodes.length > 0) nodes = got.nodes;
    if (got.results.length === 0) {
      throw new MmaplabError('ECHECK', `${k.release}: the VM ended before a result for ${left[0]}\nrun directory: ${got.vm.runDir}`, {
        runDir: got.vm.runDir,
      });
    }
    vms.push(got.vm);
    for (const n of got.notes) notes.add(n);
    results.push(...got.results);
    const done = new Set(got.results.map((r) => r.scenario));
    left = left.filter((s) => !done.has(s));
  }
  // the node a pattern matched first is the one checked: the first VM said which
  const device = nodes[0] ?? o.device;
  return { kernel: k.release, device, nodes, modulePath: mod.path, buildWarnings: mod.warnings, results, vms, notes: [...notes] };
}

/**
 * Every node of the driver: the one --device names, or each a pattern
 * matches, in a check of its own (the first tells which nodes there are).
 */
export async function checkKernelNodes(
  k: Kernel,
  base: VmOptions,
  o: CheckOptions,
  onCheck?: (c: KernelCheck) => void,
): Promise<KernelCheck[]> {
  const first = await checkKernel(k, base, o);
  onCheck?.(first);
  const out = [first];
  for (const node of first.nodes.slice(1)) {
    const c = await checkKernel(k, base, { ...o, device: node });
    onCheck?.(c);
    out.push(c);
  }
  return out;
}
