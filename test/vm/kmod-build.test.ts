/** mmaplab.ko must build without a single compiler warning on every default kernel. */
import * as assert from 'node:assert/strict';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { compilerWarnings, ensureModule, lastBuildLog } from '../../lib/vm/kmod';
import { installedKernel } from '../installed-kernel';

describe('mmaplab.ko build', function () {
  this.timeout(300_000);
  for (const { series } of REQUIRED_SERIES) {
    const installed = installedKernel(series);
    it(`builds warning-free against the headers of ${installed.title}`, function () {
      const kernel = installed.get();
      const built = ensureModule(kernel);
      const log = built.cached ? lastBuildLog(kernel) : built.log;
      assert.ok(log !== null && log.includes('mmaplab.ko'), `no build log for ${kernel.release}`);
      assert.deepEqual(compilerWarnings(log), [], `warnings building for ${kernel.release}`);
    });
  }
});
