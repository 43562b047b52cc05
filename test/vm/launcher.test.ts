/**
 * The launcher's failure paths on a real kernel: a guest that never reports
 * is a hang with the console tail; a kernel that panics ends QEMU at once
 * (panic=-1, -no-reboot) and is reported as a panic.
 */
import * as assert from 'node:assert/strict';
import { installedKernel } from '../installed-kernel';
import { DEFAULT_VM, describeFailure, runJob } from '../../lib/vm/session';

describe('QEMU launcher failure paths', function () {
  this.timeout(120_000);
  const k61 = installedKernel('6.1');
  const k612 = installedKernel('6.12');

  it(`a guest that does not finish before the deadline is reported as a hang with the console tail (${k61.title})`, async function () {
    const kernel = k61.get();
    const run = await runJob(kernel, { kind: 'idle', kernel: kernel.release }, { ...DEFAULT_VM, timeoutMs: 1500 }, 'hang-test');
    assert.equal(run.boot.end, 'timeout');
    assert.equal(run.agentStatus, null);
    const text = describeFailure(kernel, run);
    assert.match(text, /^6\.1\.\S+: hang: the guest did not finish within \d+ s/);
    assert.match(text, /console tail:/);
    assert.ok(run.boot.consoleTail.length > 0, 'some console output was captured');
  });

  it(`a kernel panic ends the VM immediately and is reported as a panic (${k612.title})`, async function () {
    const kernel = k612.get();
    // An init that does not exist: the kernel panics "No working init found".
    const run = await runJob(
      kernel,
      { kind: 'idle', kernel: kernel.release },
      { ...DEFAULT_VM, timeoutMs: 60_000, cmdline: ['rdinit=/nonexistent', 'init=/nonexistent'] },
      'panic-test',
    );
    assert.equal(run.boot.end, 'panic');
    assert.ok(run.boot.durationMs < 60_000);
    assert.ok(run.boot.consoleTail.some((l) => /Kernel panic - not syncing/.test(l)));
  });
});
