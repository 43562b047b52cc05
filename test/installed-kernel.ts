/**
 * The kernel a test of a required series runs on, chosen by the same
 * selection as the CLI's default (newest installed kernel of the series), so
 * an older kernel left installed on the machine changes nothing. Resolved
 * when the test is defined so that its title can name the release; a kernel
 * that is missing still defines the test, which then fails with the
 * selection's own error (what to install), never skips.
 */
import { requiredKernel, type Kernel } from '../lib/vm/kernels';

export interface InstalledKernel {
  /** The release ("6.1.0-N-amd64"), or "6.1 kernel (not installed)", for a test title. */
  title: string;
  /** The kernel; throws the selection's error when none is installed. */
  get(): Kernel;
}

export function installedKernel(series: string): InstalledKernel {
  try {
    const kernel = requiredKernel(series);
    return { title: kernel.release, get: () => kernel };
  } catch (err) {
    return {
      title: `${series} kernel (not installed)`,
      get: () => {
        throw err;
      },
    };
  }
}
