/** `mmaplab run CELL`: one cell on each selected kernel, every piece of its evidence printed. */
import { FULL_CATALOGUE } from '../experiments/catalogue';
import type { CellResult, CellSpec } from '../experiments/types';
import { buildReport, currentEnvironment } from '../report/build';
import { at, got } from '../util/at';
import { requireQemu } from '../vm/qemu';
import { execute, lastRun } from '../runner/executor';
import { runCellsOnHost } from '../runner/host-target';
import { cellsStep, moduleFor, type PlanStep } from '../runner/plan';
import { usageError, type CliOptions } from './args';
import { buildModules, log } from './common';
import { renderEvidence } from './evidence';
import { agreementExit } from './exit';
import { bootableKernels, vmOptionsFor } from './vm-options';

/** The catalogue cell with exactly this id; a usage error naming close ids otherwise. */
export function cellById(id: string, catalogue: readonly CellSpec[] = FULL_CATALOGUE): CellSpec {
  const cell = catalogue.find((c) => c.id === id);
  if (cell) return cell;
  const near = catalogue.filter((c) => c.id.includes(id)).map((c) => c.id);
  const hint =
    near.length === 0
      ? 'cell ids look like pages_nocomp/fault_page/16K/basic'
      : `cells whose id contains it: ${near.slice(0, 8).join(', ')}${near.length > 8 ? `, ... (${near.length})` : ''}`;
  throw usageError(`no cell has the id "${id}"; ${hint}`, 'run');
}

export async function runOne(opts: CliOptions): Promise<number> {
  const cell = cellById(at(opts.args, 0, 'the cell id to run'));
  if (opts.target === 'host') return runOneOnHost(opts, cell);
  if (opts.allowHazards) throw usageError('--allow-hazards is for --target host (VMs take hazards anyway)', 'run');
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  const modules = buildModules(kernels);
  const steps: PlanStep[] = [];
  for (const k of kernels)
    steps.push(
      cellsStep(k, await vmOptionsFor(opts, k), [cell], moduleFor([cell], got(modules, k.release, 'the module built for the kernel'))),
    );
  const results: CellResult[] = [];
  await execute(
    { steps, concurrency: 1 },
    {
      stepStarted: (step) => log(`${step.kernel.release}: running ${cell.id} under ${step.vm.accel}`),
      stepDone: (outcome) => {
        for (const r of outcome.results) {
          if (results.length > 0) process.stdout.write('\n');
          process.stdout.write(`${renderEvidence(r)}\n`);
          results.push(r);
        }
        log(`${outcome.step.kernel.release}: run directory ${lastRun(outcome).runDir}`);
      },
    },
  );
  return agreementExit(buildReport(results, [], currentEnvironment('qemu', null)), opts.noFail);
}

/** `run CELL --target host`: the cell on this machine's kernel, its evidence printed. */
async function runOneOnHost(opts: CliOptions, cell: CellSpec): Promise<number> {
  if (opts.kernels.releases.length > 0 || opts.kernels.paths.length > 0) {
    throw usageError('--target host runs the kernel this machine booted; --kernel is for --target qemu', 'run');
  }
  const [r] = await runCellsOnHost([cell], { allowHazards: opts.allowHazards });
  if (r === undefined) throw new Error(`no result for ${cell.id}`);
  process.stdout.write(`${renderEvidence(r)}\n`);
  return agreementExit(buildReport([r], [], currentEnvironment('host', null)), opts.noFail);
}
