/** `mmaplab run CELL`: one cell on each selected kernel, every piece of its evidence printed. */
import { CATALOGUE } from '../experiments/catalogue';
import type { CellResult, CellSpec } from '../experiments/types';
import { buildReport, currentEnvironment } from '../report/build';
import { selectKernels } from '../vm/kernels';
import { requireQemu } from '../vm/qemu';
import { runCells } from '../vm/session';
import { usageError, type CliOptions } from './args';
import { buildModules, log } from './common';
import { renderEvidence } from './evidence';
import { agreementExit } from './exit';
import { vmOptionsFor } from './vm-options';

/** The catalogue cell with exactly this id; a usage error naming close ids otherwise. */
export function cellById(id: string, catalogue: readonly CellSpec[] = CATALOGUE): CellSpec {
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
  const cell = cellById(opts.args[0] as string);
  requireQemu();
  const kernels = selectKernels(opts.kernels);
  const modules = buildModules(kernels);
  const results: CellResult[] = [];
  for (const k of kernels) {
    const vm = await vmOptionsFor(opts, k);
    log(`${k.release}: running ${cell.id} under ${vm.accel}`);
    const out = await runCells(
      k,
      [cell],
      { path: modules.get(k.release) as string, params: cell.hazard ? { allow_hazards: '1' } : {} },
      vm,
    );
    for (const r of out.results) {
      if (results.length > 0) process.stdout.write('\n');
      process.stdout.write(`${renderEvidence(r)}\n`);
      results.push(r);
    }
    log(`${k.release}: run directory ${out.runs[out.runs.length - 1]?.runDir}`);
  }
  return agreementExit(buildReport(results, [], currentEnvironment('qemu', null)), opts.noFail);
}
