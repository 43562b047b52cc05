/**
 * `mmaplab check` on the host: the user's module built (or taken) for a
 * kernel, one VM that loads it and runs the scenarios (lib/check/guest),
 * and what came back turned into one result per scenario. A VM that dies
 * in a scenario makes that scenario's verdict 'vm-died' (with what the
 * console said) and the ones after it 'not-run'.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastRun, runStep } from '../runner/executor';
import { MmaplabError } from '../util/errors';
import { classifyConsole } from '../vm/console';
import type { GuestEvent, Job } from '../vm/job';
import type { Kernel } from '../vm/kernels';
import { ensureUserModule } from '../vm/kmod';
import { describeFailure, type VmOptions, type VmRun } from '../vm/session';
import { CHECK_SCENARIOS, type CheckResult, type CheckScenario, type CheckTarget } from './types';

/** Where the module comes from: a source directory built per kernel, or a built .ko for one kernel. */
export type ModuleSource = { kmod: string } | { ko: string };

export interface CheckOptions {
  module: ModuleSource;
  params: Record<string, string>;
  device: string;
  /** Bytes of the driver's buffer a mapping may cover. */
  size: number;
}

export interface KernelCheck {
  kernel: string;
  /** The .ko that was loaded. */
  modulePath: string;
  /** Compiler warnings of the build (none when it came from the cache or --ko). */
  buildWarnings: string[];
  results: CheckResult[];
  runDir: string;
}

/** rmmod's name for a .ko: its base name with '-' as '_'. */
export function moduleNameOf(koPath: string): string {
  return path.basename(koPath, '.ko').replace(/-/g, '_');
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

/** The scenarios' results from a VM's events; the rest, when it died or stopped early. */
export function resultsFromRun(run: VmRun): CheckResult[] {
  const results = run.events
    .filter((e): e is Extract<GuestEvent, { type: 'check-result' }> => e.type === 'check-result')
    .map((e) => e.result);
  const done = new Set<CheckScenario>(results.map((r) => r.scenario));
  const started = run.events.filter((e): e is Extract<GuestEvent, { type: 'check-start' }> => e.type === 'check-start');
  const inFlight = started.map((e) => e.scenario).find((s) => !done.has(s));
  if (inFlight !== undefined) {
    const findings = classifyConsole(run.boot.consoleTail);
    const first = findings[0];
    results.push({
      scenario: inFlight,
      verdict: 'vm-died',
      detail: first !== undefined ? `${first.kind}: ${first.line}` : `the VM ended (${run.boot.end}) in this scenario`,
      findings: findings.map((f) => ({ kind: f.kind, line: f.line, ...(f.reason !== undefined ? { reason: f.reason } : {}) })),
      taintGained: [],
      kmsg: run.boot.consoleTail.slice(-40),
      durationMs: 0,
    });
    done.add(inFlight);
  }
  for (const scenario of CHECK_SCENARIOS) {
    if (done.has(scenario)) continue;
    results.push({ scenario, verdict: 'not-run', detail: 'an earlier scenario broke the kernel', findings: [], taintGained: [], kmsg: [], durationMs: 0 });
  }
  return results;
}

/** Build or take the module, boot `k`, run every scenario. */
export async function checkKernel(k: Kernel, vm: VmOptions, o: CheckOptions): Promise<KernelCheck> {
  const mod = resolveModule(k, o.module);
  const target: CheckTarget = { device: o.device, size: o.size, moduleName: moduleNameOf(mod.path) };
  const job: Job = { kind: 'check', kernel: k.release, module: { path: mod.path, params: o.params }, check: { target } };
  const run = lastRun(await runStep({ kernel: k, vm, job, label: 'check' }));
  const error = run.events.find((e): e is Extract<GuestEvent, { type: 'error' }> => e.type === 'error');
  const reported = run.events.some((e) => e.type === 'check-start');
  if (error !== undefined || !reported) {
    // The module did not load, its node never appeared, or the agent failed: no verdict to give.
    const why = error !== undefined ? error.message : describeFailure(k, run);
    throw new MmaplabError('ECHECK', `${k.release}: ${why}\nrun directory: ${run.runDir}`, { runDir: run.runDir });
  }
  return { kernel: k.release, modulePath: mod.path, buildWarnings: mod.warnings, results: resultsFromRun(run), runDir: run.runDir };
}
