/** `mmaplab kernels`, `mmaplab kernel build` and `mmaplab build-kmod`: the kernels, and the module for them. */
import { MmaplabError } from '../util/errors';
import { bootProblem } from '../vm/initramfs';
import { buildKernel, parseBuildName } from '../vm/kernel-build';
import { discoverKernels, kernelName, selectKernels } from '../vm/kernels';
import { usageError, type CliOptions } from './args';
import { buildModules, log } from './common';

export function kernelsCommand(): number {
  const d = discoverKernels();
  for (const k of d.usable) {
    const problem = bootProblem(k);
    process.stdout.write(`${kernelName(k)}\t${k.release}\t${k.origin}\t${k.image}${problem !== null ? `\t(cannot boot in the VM: ${problem})` : ''}\n`);
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
