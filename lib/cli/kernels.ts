/** `mmaplab kernels`, `mmaplab kernel build` and `mmaplab build-kmod`: the kernels, and the module for them. */
import { MmaplabError } from '../util/errors';
import { bootProblem } from '../vm/initramfs';
import { buildKernel, discoverBuiltKernels, parseBuildName, recipeStatus, type BuiltManifest } from '../vm/kernel-build';
import { discoverKernels, kernelName, selectKernels, type Kernel } from '../vm/kernels';
import { usageError, type CliOptions } from './args';
import { buildModules, log } from './common';

/** What `kernels` says after a kernel's line: why it cannot boot, or that it was built from an older recipe. */
function kernelNote(k: Kernel, built: ReadonlyMap<string, BuiltManifest>): string {
  const problem = bootProblem(k);
  if (problem !== null) return `\t(cannot boot in the VM: ${problem})`;
  const m = built.get(k.release);
  if (m !== undefined && recipeStatus(m) === 'older') {
    return `\t(built from an older recipe, still used: mmaplab kernel build ${m.name} builds today's)`;
  }
  return '';
}

export function kernelsCommand(): number {
  const d = discoverKernels();
  const built = new Map(discoverBuiltKernels().map((b) => [b.kernel.release, b.manifest] as const));
  for (const k of d.usable) {
    process.stdout.write(`${kernelName(k)}\t${k.release}\t${k.origin}\t${k.image}${kernelNote(k, built)}\n`);
  }
  for (const r of d.withoutHeaders) {
    process.stdout.write(`-\t${r}\t(no headers: apt-get install linux-headers-${r})\n`);
  }
  if (d.usable.length === 0) log('no usable kernel: run scripts/setup-host.sh as root');
  return d.usable.length > 0 ? 0 : 1;
}

/** `mmaplab kernel build 6.1-slab`. */
export function kernelCommand(opts: CliOptions): number {
  const [verb, name] = opts.args as [string, string];
  if (verb !== 'build') throw usageError(`unknown kernel action "${verb}" (the one action is build)`, 'kernel');
  const parsed = parseBuildName(name);
  if (parsed === null) {
    throw new MmaplabError('EUSAGE', `"${name}" is not SERIES-PROFILE (e.g. 6.1-slab, 6.12-debug)`);
  }
  const r = buildKernel(parsed.series, parsed.profile.name, { log: (l) => log(l) });
  process.stdout.write(
    `${kernelName(r.kernel)}\t${r.kernel.release}\t${r.cached ? 'cached' : `built in ${r.manifest.seconds} s`}\t${r.kernel.image}\n`,
  );
  return 0;
}

export function buildKmodCommand(opts: CliOptions): number {
  buildModules(selectKernels(opts.kernels));
  return 0;
}
