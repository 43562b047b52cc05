/** VM options from the command line, per kernel (the accelerator may be probed). */
import { resolveAccel } from '../vm/accel';
import { requireBootable } from '../vm/initramfs';
import type { Kernel } from '../vm/kernels';
import { DEFAULT_VM, type VmOptions } from '../vm/session';
import type { CliOptions } from './args';

export async function vmOptionsFor(opts: CliOptions, kernel: Kernel): Promise<VmOptions> {
  requireBootable(kernel);
  return {
    ...DEFAULT_VM,
    accel: await resolveAccel(opts.accel, kernel),
    timeoutMs: opts.timeoutSec * 1000,
    restore: opts.restore,
    ...(opts.verbose ? { echo: process.stderr } : {}),
  };
}
