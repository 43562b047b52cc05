/** mmaplab.ko must build without a single compiler warning on every default kernel. */
import * as assert from 'node:assert/strict';
import { REQUIRED_SERIES, requiredKernel } from '../../lib/vm/kernels';
import { compilerWarnings, ensureModule, lastBuildLog } from '../../lib/vm/kmod';

describe('mmaplab.ko build', function () {
  this.timeout(300_000);
  for (const { series } of REQUIRED_SERIES) {
    it(`builds warning-free against the ${series} headers`, function () {
      const kernel = requiredKernel(series);
      const built = ensureModule(kernel);
      const log = built.cached ? lastBuildLog(kernel) : built.log;
      assert.ok(log !== null && log.includes('mmaplab.ko'), `no build log for ${kernel.release}`);
      assert.deepEqual(compilerWarnings(log), [], `warnings building for ${kernel.release}`);
    });
  }
});
