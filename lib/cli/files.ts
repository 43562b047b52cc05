/**
 * `mmaplab files`: the file-backed methods under every trigger, on each
 * selected kernel, as a table of what reached the backing store.
 */
import * as fs from 'node:fs';
import { answerFileClaims, renderFileClaims } from '../experiments/file-claims';
import type { KernelFiles } from '../experiments/file-triggers';
import { at, got } from '../util/at';
import { MmaplabError } from '../util/errors';
import type { ReportFiles } from '../report/schema';
import type { GuestEvent } from '../vm/job';
import { type Kernel } from '../vm/kernels';
import { requireQemu } from '../vm/qemu';
import { describeFailure, type VmOptions } from '../vm/session';
import { execute, lastRun, type StepOutcome } from '../runner/executor';
import type { PlanStep } from '../runner/plan';
import type { CliOptions } from './args';
import { buildModules, log } from './common';
import { bootableKernels, vmOptionsFor } from './vm-options';

/** One row per measurement: method, trigger, pages arrived, first/last ms, paths. */
export function renderFilesTable(runs: readonly KernelFiles[]): string {
  const header = ['kernel', 'method', 'trigger', 'arrived', 'first ms', 'last ms', 'paths', 'intact'];
  const rows: string[][] = [header];
  for (const k of runs) {
    for (const r of k.results) {
      const paths = Object.entries(r.paths)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ');
      rows.push([
        k.kernel,
        r.method,
        r.trigger,
        r.error !== null ? `error: ${r.error}` : `${r.arrived}/${r.pages}`,
        r.firstMs === null ? '-' : r.firstMs.toFixed(1),
        r.lastMs === null ? '-' : r.lastMs.toFixed(1),
        paths || '-',
        r.intact ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => at(r, i, 'a cell of the files table').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(at(widths, i, 'a column of the files table')))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The files job on one kernel: every method x trigger, in one VM. */
export function filesStep(k: Kernel, vm: VmOptions, modulePath: string): PlanStep {
  return { kernel: k, vm, job: { kind: 'files', kernel: k.release, module: { path: modulePath, params: {} } } };
}

/** A files step's measurements; an error naming the run directory when its guest did not finish. */
export function filesOf(outcome: StepOutcome): KernelFiles {
  const { kernel } = outcome.step;
  const run = lastRun(outcome);
  if (run.agentStatus !== 0) throw new MmaplabError('EGUEST', describeFailure(kernel, run), { runDir: run.runDir });
  return { kernel: kernel.release, results: run.events.flatMap((e) => (e.type === 'file-result' ? [e.result] : [])) };
}

/** One line per measurement as it arrives. */
export function logFileResult(k: Kernel, e: GuestEvent): void {
  if (e.type !== 'file-result') return;
  const r = e.result;
  log(`${k.release} ${r.method}/${r.trigger}: ${r.error ?? `${r.arrived}/${r.pages} pages`}`);
}

/** The report section: the measurements and the statements answered from them. */
export function filesSectionOf(kernels: KernelFiles[]): ReportFiles {
  return { kernels, claims: kernels.flatMap((k) => answerFileClaims(k.kernel, k.results)) };
}

export async function runFiles(opts: CliOptions): Promise<number> {
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  const modules = buildModules(kernels, log);
  const steps: PlanStep[] = [];
  for (const k of kernels)
    steps.push(filesStep(k, await vmOptionsFor(opts, k), got(modules, k.release, 'the module built for the kernel')));
  const outcomes = await execute(
    { steps, concurrency: 1 },
    {
      stepStarted: (step) => log(`${step.kernel.release}: file-backed methods under ${step.vm.accel}`),
      event: (step, e) => logFileResult(step.kernel, e),
    },
  );
  const out = outcomes.map(filesOf);
  const section = filesSectionOf(out);
  process.stdout.write(`${renderFilesTable(out)}\n\n${renderFileClaims(section.claims)}\n`);
  if (opts.json !== null) {
    fs.writeFileSync(opts.json, JSON.stringify(section, null, 2));
    log(`measurements written to ${opts.json}`);
  }
  const bad = out.flatMap((k) => k.results).filter((r) => r.error !== null || !r.intact);
  return bad.length === 0 ? 0 : 1;
}
