/** `mmaplab test-guest`: the guest suite on each selected kernel, TAP-like output. */
import { runGuestSuiteOn, SUITE_TIMEOUT_MS, timeByFile } from '../runner/host-suite';
import { requireQemu } from '../vm/qemu';
import type { CliOptions } from './args';
import { bootableKernels, vmOptionsFor } from './vm-options';

/** The least VM deadline of `test-guest --long`. */
const LONG_TIMEOUT_MS = 40 * 60_000;

export async function runGuestTests(opts: CliOptions): Promise<number> {
  requireQemu();
  let failed = 0;
  let passed = 0;
  for (const k of bootableKernels(opts.kernels)) {
    const vm = await vmOptionsFor(opts, k);
    // The long forms run for many minutes under TCG.
    if (opts.long) vm.timeoutMs = Math.max(vm.timeoutMs, LONG_TIMEOUT_MS);
    // The whole suite outlasts the default single-job deadline.
    else if (opts.suites.length === 0) vm.timeoutMs = Math.max(vm.timeoutMs, SUITE_TIMEOUT_MS);
    const r = await runGuestSuiteOn(k, vm, opts.suites, { long: opts.long });
    for (const t of r.tests) {
      if (t.state === 'passed') passed++;
      if (t.state === 'failed') failed++;
      const mark = t.state === 'passed' ? 'ok' : t.state === 'failed' ? 'not ok' : 'ok # SKIP';
      process.stdout.write(`${mark} - ${k.release}: ${t.fullTitle}\n`);
      if (t.error) process.stdout.write(`  ${t.error.split('\n').join('\n  ')}\n`);
    }
    if (r.tests.length > 0) process.stdout.write(`# ${k.release}: ${timeByFile(r.tests)}\n`);
    if (r.failure !== null) {
      failed++;
      process.stdout.write(`not ok - ${k.release}: suite did not complete\n  ${r.failure.split('\n').join('\n  ')}\n`);
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
