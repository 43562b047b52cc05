#!/usr/bin/env node
/** The `mmaplab` command line. */
import * as fs from 'node:fs';
import { parseArgs, USAGE, type CliOptions } from './cli/args';
import { runBenchBoot } from './cli/bench-boot';
import { runGuestTests } from './cli/guest-tests';
import { findCells } from './experiments/catalogue';
import type { CellResult } from './experiments/types';
import { renderTable, renderTally } from './report/table';
import { MmaplabError } from './util/errors';
import { discoverKernels, selectKernels, type Kernel } from './vm/kernels';
import { ensureModule } from './vm/kmod';
import { requireQemu } from './vm/qemu';
import { runCells } from './vm/session';
import { vmOptionsFor } from './cli/vm-options';

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function buildModules(kernels: Kernel[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of kernels) {
    const m = ensureModule(k);
    if (!m.cached) {
      log(`built mmaplab.ko for ${k.release}${m.warnings.length ? ` with ${m.warnings.length} warning(s):` : ''}`);
      for (const w of m.warnings) log(`  ${w}`);
    }
    out.set(k.release, m.path);
  }
  return out;
}

async function matrix(opts: CliOptions): Promise<number> {
  requireQemu();
  const kernels = selectKernels(opts.kernels);
  const cells = findCells(opts.cells);
  if (cells.length === 0) throw new MmaplabError('EUSAGE', `no cell matches ${opts.cells.join(', ')}`);
  const modules = buildModules(kernels);
  const hazards = cells.some((c) => c.hazard);
  const results: CellResult[] = [];
  for (let round = 1; round <= opts.repeat; round++) {
    for (const k of kernels) {
      const vm = await vmOptionsFor(opts, k);
      const label = opts.repeat > 1 ? ` (run ${round}/${opts.repeat})` : '';
      log(`${k.release}: ${cells.length} cell(s) under ${vm.accel}${label}`);
      const out = await runCells(
        k,
        cells,
        { path: modules.get(k.release) as string, params: hazards ? { allow_hazards: '1' } : {} },
        vm,
      );
      results.push(...out.results);
      log(`${k.release}: ${out.runs.length} boot(s), last run directory ${out.runs[out.runs.length - 1]?.runDir}`);
    }
  }
  process.stdout.write(`${renderTable(results)}\n`);
  if (opts.repeat > 1) process.stdout.write(`\n${renderTally(results)}\n`);
  if (opts.json !== null) {
    fs.writeFileSync(opts.json, JSON.stringify({ generated: new Date().toISOString(), results }, null, 2));
    log(`results written to ${opts.json}`);
  }
  return 0;
}

function kernelsCommand(): number {
  const d = discoverKernels();
  for (const k of d.usable) process.stdout.write(`${k.release}\t${k.series}\t${k.image}\n`);
  for (const r of d.withoutHeaders) {
    process.stdout.write(`${r}\t(no headers: apt-get install linux-headers-${r})\n`);
  }
  if (d.usable.length === 0) log('no usable kernel: run scripts/setup-host.sh as root');
  return d.usable.length > 0 ? 0 : 1;
}

export async function main(argv: readonly string[]): Promise<number> {
  const opts = parseArgs(argv);
  switch (opts.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'kernels':
      return kernelsCommand();
    case 'build-kmod':
      buildModules(selectKernels(opts.kernels));
      return 0;
    case 'matrix':
      return matrix(opts);
    case 'test-guest':
      return runGuestTests(opts);
    case 'bench-boot':
      return runBenchBoot(opts);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (err: unknown) => {
      if (err instanceof MmaplabError) {
        log(`mmaplab: ${err.message}`);
        log(`(error code ${err.code})`);
      } else {
        log(`mmaplab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      process.exit(1);
    },
  );
}
