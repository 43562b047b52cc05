/** VM options from the command line, per kernel (the accelerator may be probed). */
import { resolveAccel } from '../vm/accel';
import { requireBootable } from '../vm/initramfs';
import { selectKernels, type Kernel, type KernelSelection } from '../vm/kernels';
import { DEFAULT_VM, type VmOptions } from '../vm/session';
import type { CliOptions } from './args';

export async function vmOptionsFor(opts: CliOptions, kernel: Kernel): Promise<VmOptions> {
  return {
    ...DEFAULT_VM,
    accel: await resolveAccel(opts.accel, kernel),
    timeoutMs: opts.timeoutSec * 1000,
    restore: opts.restore,
    ...(opts.verbose ? { echo: process.stderr } : {}),
  };
}

/** The selected kernels, each refused at once (EUNBOOTABLE) if it cannot run mmaplab's VMs. */
export function bootableKernels(sel: KernelSelection): Kernel[] {
  const kernels = selectKernels(sel);
  for (const k of kernels) requireBootable(k);
  return kernels;
}
