/**
 * Guest suite, module loaded WITHOUT allow_hazards: concurrency stress
 * (lib/harden/stress.ts) of one session shared by 8 processes x 2-4 threads
 * and of separate sessions, then module unload while the device is in
 * use. Short by default (12 s per mode); MMAPLAB_HARDEN_LONG=1 in the
 * guest's environment (test-guest --long) runs 5 minutes per mode.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { Device } from '../../lib/device';
import { describeStress, RUN_GRACE_MS, runStress, STARTUP_LIMIT_MS, type StressMode } from '../../lib/harden/stress';
import { classifyWindow, describeFinding } from '../../lib/kmsg';
import { isLoaded, loadModule, MODULE_NAME } from '../../lib/runner/module';
import { koPath } from './ko-path';
import { moduleWindow } from './module-window';

const LONG = process.env['MMAPLAB_HARDEN_LONG'] === '1';
const DURATION_MS = LONG ? 300_000 : 12_000;
/** Ops a run must at least do to count as having stressed anything (measured: see docs/testing.md). */
const MIN_OPS = LONG ? 20_000 : 2_000;

function rmmod(): { status: number | null; output: string } {
  const r = spawnSync('rmmod', [MODULE_NAME], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The module answers: a fresh session configures, fills, verifies. */
function assertWorking(): void {
  using dev = Device.open();
  dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 16384 });
  dev.fill(5);
  assert.ok(dev.verify(5).ok, 'a fresh session round-trips its pattern');
}

describe(`concurrency stress and unload on ${os.release()}${LONG ? ' (long form)' : ''}`, function () {
  before(() => loadModule(koPath(), {}));

  for (const mode of ['shared', 'separate'] as StressMode[]) {
    it(`${mode} session(s): 8 processes x 2-4 threads for ${DURATION_MS / 1000} s, only expected errnos, data intact, kernel silent`, async function () {
      // Never shorter than the harness's own limits (start-up, window, grace), which report
      // a process that misses them as a failure with its reason; a mocha timeout would not.
      this.timeout(STARTUP_LIMIT_MS + DURATION_MS + RUN_GRACE_MS + 30_000);
      const r = await runStress({ mode, durationMs: DURATION_MS });
      const summary = describeStress(r);
      console.log(`      ${summary}`);
      assert.deepEqual(r.failures, [], summary);
      assert.deepEqual(r.kmsg, [], summary);
      assert.deepEqual(r.taintGained, [], summary);
      assert.ok(r.totalOps >= MIN_OPS, `at least ${MIN_OPS} operations: ${summary}`);
      assert.ok((r.ops['map'] ?? 0) > 0 && (r.ops['unmap'] ?? 0) > 0 && (r.ops['fork'] ?? 0) > 0, summary);
      if (mode === 'shared') {
        // Not vacuous: CONFIGURE met mappings, its own and other threads'.
        assert.ok(r.configure.ebusyHeld > 0, `EBUSY while holding a mapping: ${summary}`);
        assert.ok(r.configure.ebusyFree > 0, `EBUSY from somebody else's mapping: ${summary}`);
        assert.ok((r.ops['close-dup'] ?? 0) > 0, summary);
      } else {
        assert.ok((r.ops['configure-ebusy'] ?? 0) > 0 && (r.ops['verify'] ?? 0) > 0, summary);
      }
    });
  }

  describe('rmmod while the device is in use', function () {
    const kernel = moduleWindow();
    after(function () {
      // Leave the module loaded for whatever runs next, as every suite expects.
      if (!isLoaded()) loadModule(koPath(), {});
    });

    it('fails while only a mapping holds the file (fd closed), works again after munmap', function () {
      const dev = Device.open();
      dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 16384 });
      const m = dev.map();
      m.writePattern(9);
      dev.close();
      const r = rmmod();
      assert.notEqual(r.status, 0, `rmmod succeeded under a live mapping: ${r.output}`);
      assert.match(r.output, /in use|busy/i);
      assert.ok(isLoaded(), 'still loaded');
      assert.equal(m.checkPattern(9), null, 'the mapping still holds its data');
      assertWorking();
      m.unmap();
      const again = rmmod();
      assert.equal(again.status, 0, `rmmod after munmap and close: ${again.output}`);
      assert.ok(!isLoaded());
      loadModule(koPath(), {});
    });

    it('fails while an fd without mappings is open, works after close', function () {
      const dev = Device.open();
      dev.configure({ alloc: 'pages_comp', method: 'vm_insert_page', size: 16384 });
      const r = rmmod();
      assert.notEqual(r.status, 0, `rmmod succeeded with an open fd: ${r.output}`);
      assert.match(r.output, /in use|busy/i);
      assert.ok(isLoaded(), 'still loaded');
      dev.fill(3);
      assert.ok(dev.verify(3).ok, 'the open session still works');
      assertWorking();
      dev.close();
      const again = rmmod();
      assert.equal(again.status, 0, `rmmod after close: ${again.output}`);
      loadModule(koPath(), {});
      assertWorking();
    });

    it('no complaint and no new taint over the unload attempts', function () {
      const findings = classifyWindow(kernel.since().records).map(describeFinding);
      assert.deepEqual(findings, []);
      assert.deepEqual(kernel.taintGained(), []);
    });
  });
});
