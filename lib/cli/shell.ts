/** `mmaplab shell`: one kernel, mmaplab.ko loaded, a shell in the guest on this terminal. */
import { resolveAccel } from '../vm/accel';
import { startShell } from '../vm/shell';
import { onInterrupt } from '../util/interrupt';
import { type CliOptions, usageError } from './args';
import { bootableKernels } from './vm-options';
import { buildModules, defaultOutDir, log } from './common';
import { got } from '../util/at';

export async function runShell(opts: CliOptions): Promise<number> {
  const selection =
    opts.kernels.releases.length === 0 && opts.kernels.paths.length === 0 ? { releases: ['6.12'], paths: [] } : opts.kernels;
  const kernels = bootableKernels(selection);
  const kernel = kernels[0];
  if (kernel === undefined || kernels.length > 1) throw usageError('shell boots one kernel: give one --kernel', 'shell');
  const ko = got(buildModules([kernel]), kernel.release, 'the module built for the kernel');
  const accel = await resolveAccel(opts.accel, kernel);
  const runDir = defaultOutDir('shell');
  log(
    `mmaplab: booting ${kernel.release} under ${accel}` +
      (opts.gdbPort !== null ? `, gdb stub on :${opts.gdbPort} (gdb vmlinux; target remote :${opts.gdbPort})` : '') +
      `; run directory ${runDir}`,
  );
  const child = startShell(kernel, ko, {
    accel,
    runDir,
    gdbPort: opts.gdbPort,
    ...(process.stdout.columns !== undefined ? { columns: process.stdout.columns, rows: process.stdout.rows } : {}),
  });
  const unregister = onInterrupt(() => child.kill('SIGKILL'));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  unregister();
  return status === 0 ? 0 : 1;
}
