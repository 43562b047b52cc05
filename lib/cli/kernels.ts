/** `mmaplab kernels` and `mmaplab build-kmod`: what is installed, and the module for it. */
import { discoverKernels, selectKernels } from '../vm/kernels';
import type { CliOptions } from './args';
import { buildModules, log } from './common';

export function kernelsCommand(): number {
  const d = discoverKernels();
  for (const k of d.usable) process.stdout.write(`${k.release}\t${k.series}\t${k.image}\n`);
  for (const r of d.withoutHeaders) {
    process.stdout.write(`${r}\t(no headers: apt-get install linux-headers-${r})\n`);
  }
  if (d.usable.length === 0) log('no usable kernel: run scripts/setup-host.sh as root');
  return d.usable.length > 0 ? 0 : 1;
}

export function buildKmodCommand(opts: CliOptions): number {
  buildModules(selectKernels(opts.kernels));
  return 0;
}
