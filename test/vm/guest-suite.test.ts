/**
 * Boots each default kernel in QEMU and runs the guest suite inside it; each
 * guest test becomes a test here. A default kernel that is not installed is
 * a failure, not a skip: CI must run on both series.
 */
import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import { OWN_VM_FILES, runGuestSuiteOn, SUITE_TIMEOUT_MS, timeByFile, type GuestSuiteRun } from '../../lib/runner/host-suite';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { DEFAULT_VM } from '../../lib/vm/session';
import { installedKernel } from '../installed-kernel';

for (const { series } of REQUIRED_SERIES) {
  const installed = installedKernel(series);
  describe(`guest suite on ${installed.title}, the default ${series} kernel (QEMU)`, function () {
    // Each VM of the suite (the shared one, then one per own-VM file) has the suite's deadline.
    this.timeout(SUITE_TIMEOUT_MS * (1 + OWN_VM_FILES.length) + 120_000);
    let run: GuestSuiteRun | null = null;

    // Boots in a hook so that the guest's tests can be added to this suite
    // before mocha runs it: each guest test is reported on its own line.
    before(async function () {
      const kernel = installed.get();
      run = await runGuestSuiteOn(kernel, { ...DEFAULT_VM, timeoutMs: SUITE_TIMEOUT_MS });
      const suite = this.test?.parent as Mocha.Suite;
      for (const t of run.tests) {
        const test = new Mocha.Test(`[${kernel.release}] ${t.fullTitle}`, function () {
          if (t.state === 'failed') assert.fail(t.error ?? 'failed in the guest');
        });
        if (t.state === 'pending') test.pending = true;
        suite.addTest(test);
      }
    });

    it(`the guest suite ran to completion on ${installed.title}`, function () {
      assert.ok(run);
      // Where the suite's minutes went, for the CI time budget.
      process.stdout.write(`      ${timeByFile(run.tests)}\n`);
      assert.equal(run.failure, null, run.failure ?? '');
      assert.ok(run.tests.length > 0, 'the guest suite reported no tests');
    });
  });
}
