/**
 * `mmaplab check`: the user's driver under the check scenarios
 * (lib/check), on each selected kernel, one VM each. Prints a table per
 * kernel with each finding explained, and writes the reports
 * (lib/check/report).
 */
import * as os from 'node:os';
import { explain, explanationLines } from '../check/explain';
import { checkOnHost } from '../check/host';
import { CHECK_REPORT_FILES, writeCheckReports } from '../check/report';
import { type CheckOptions, type CheckVm, checkKernelNodes, type KernelCheck, type ModuleSource } from '../check/run';
import { isHookFile, readHook } from '../check/hook';
import { readSetup } from '../check/setup';
import { isFinding } from '../check/types';
import { requireQemu } from '../vm/qemu';
import { type CliOptions, usageError } from './args';
import { defaultOutDir, log } from './common';
import { EXIT_FAILED } from './exit';
import { bootableKernels, vmOptionsFor } from './vm-options';

/** The buffer size a mapping covers when --size is not given. */
export const DEFAULT_CHECK_SIZE = 16 * 1024;
const PAGE = 4096;

/** The options `check` needs, checked: a usage error names what to give. */
export function checkOptionsFrom(opts: CliOptions): CheckOptions {
  if ((opts.kmod === null) === (opts.ko === null)) {
    throw usageError('check needs your module: --kmod DIR (its sources) or --ko PATH (built), one of the two', 'check');
  }
  if (opts.device === null) throw usageError('check needs --device /dev/NAME, the node your driver creates', 'check');
  if (opts.sizes.length > 1) throw usageError('check takes one --size, the bytes a mapping of your buffer may cover', 'check');
  const size = opts.sizes[0] ?? DEFAULT_CHECK_SIZE;
  if (size % PAGE !== 0) throw usageError(`--size ${size} is not a multiple of the page size (${PAGE})`, 'check');
  if (opts.ko !== null && opts.target !== 'host' && opts.kernels.releases.length + opts.kernels.paths.length !== 1) {
    throw usageError('--ko is built for one kernel: name it with one --kernel', 'check');
  }
  const module: ModuleSource = opts.kmod !== null ? { kmod: opts.kmod } : { ko: opts.ko as string };
  const hook = opts.setup !== null && isHookFile(opts.setup) ? readHook(opts.setup) : null;
  const setup = opts.setup !== null && hook === null ? readSetup(opts.setup) : [];
  if (opts.profiles.length > 1) throw usageError('check boots one profile: give --profile once', 'check');
  const profile = opts.profiles[0] ?? 'default';
  if (opts.useCells === 'only') throw usageError('check runs its scenarios always: --uses yes (default) or no', 'check');
  const uses = opts.useCells === 'yes';
  return { module, params: opts.params, device: opts.device, size, setup, hook, chrdev: opts.chrdev, minor: opts.minor, profile, uses };
}

/** The table of one kernel, each finding followed by its explanation. */
export function renderKernelCheck(k: KernelCheck): string {
  const lines = [`${k.kernel}  ${k.device}  (${k.modulePath})`];
  for (const w of k.buildWarnings) lines.push(`  build warning: ${w}`);
  for (const n of k.notes) lines.push(`  ${n}`);
  const width = Math.max(...k.results.map((r) => r.scenario.length));
  for (const r of k.results) {
    const mark = isFinding(r) ? 'FINDING' : r.verdict === 'not-run' ? 'not run' : 'ok     ';
    lines.push(`  ${mark}  ${r.scenario.padEnd(width)}  ${r.verdict}: ${r.detail}`);
    const why = explain(r);
    if (why !== null) for (const l of explanationLines(why)) lines.push(`           ${l}`);
    if (isFinding(r)) for (const m of r.kmsg.slice(0, 12)) lines.push(`           | ${m}`);
  }
  const findings = k.results.filter(isFinding).length;
  lines.push(`  ${findings === 0 ? 'no finding' : `${findings} finding(s)`}; ${vmsLine(k.vms)}`);
  return lines.join('\n');
}

/** How many VMs, how each started, and where their run directories are. */
export function vmsLine(vms: readonly CheckVm[]): string {
  if (vms.length === 0) return 'no VM (--target host)';
  const restored = vms.filter((v) => v.start === 'restored').length;
  const how =
    restored === vms.length ? 'restored' : restored === 0 ? 'booted cold' : `${restored} restored, ${vms.length - restored} booted cold`;
  const count = vms.length === 1 ? `1 VM (${how})` : `${vms.length} VMs (${how})`;
  return `${count}, run ${vms.length === 1 ? 'directory' : 'directories'} ${vms.map((v) => v.runDir).join(' ')}`;
}

export async function runCheck(opts: CliOptions): Promise<number> {
  const o = checkOptionsFrom(opts);
  const outDir = opts.out ?? defaultOutDir('check');
  const checks: KernelCheck[] = [];
  if (opts.target === 'host') {
    if (opts.kernels.releases.length > 0 || opts.kernels.paths.length > 0) {
      throw usageError('--target host checks the kernel this machine booted; --kernel is for --target qemu', 'check');
    }
    log(`${os.release()}: checking ${o.device} on this machine`);
    const first = checkOnHost(o, opts.allowHazards);
    checks.push(first);
    process.stdout.write(`${renderKernelCheck(first)}\n`);
    for (const node of first.nodes.slice(1)) {
      // a kernel that complained is not one to check the next node in
      if (checks.some((c) => c.results.some((r) => r.verdict === 'kernel-complaint'))) {
        log(`${node} not checked: the kernel complained; reboot this machine first`);
        break;
      }
      const c = checkOnHost({ ...o, device: node }, opts.allowHazards);
      checks.push(c);
      process.stdout.write(`${renderKernelCheck(c)}\n`);
    }
    return finish(outDir, checks, o);
  }
  if (opts.allowHazards) throw usageError('--allow-hazards is for --target host (a VM takes whatever your driver does)', 'check');
  requireQemu();
  const kernels = bootableKernels(opts.kernels);
  for (const k of kernels) {
    log(`${k.release}: building and checking ${o.device}`);
    await checkKernelNodes(k, await vmOptionsFor(opts, k), o, (c) => {
      checks.push(c);
      process.stdout.write(`${renderKernelCheck(c)}\n`);
    });
  }
  return finish(outDir, checks, o);
}

/** The reports, and the exit status: 1 when any kernel has a finding. */
function finish(outDir: string, checks: readonly KernelCheck[], o: CheckOptions): number {
  writeCheckReports(outDir, checks, o);
  process.stdout.write(`reports in ${outDir}: ${CHECK_REPORT_FILES.join(', ')}\n`);
  return checks.some((c) => c.results.some(isFinding)) ? EXIT_FAILED : 0;
}
