/**
 * Shared by the guest suites: load the module with its defaults before a
 * suite's tests, remember where the kernel log and the taint stood, and let
 * the suite's last test check what it left behind.
 */
import * as assert from 'node:assert/strict';
import { classifyWindow, currentSeq, readSince, readTaint, taintGained, type KmsgWindow } from '../../lib/kmsg';
import { loadModule } from '../../lib/runner/module';
import { koPath } from './ko-path';

export interface ModuleWindow {
  /** The /dev/kmsg records since the suite's start. */
  since(): KmsgWindow;
  /** Taint bits gained since the suite's start (O and E masked). */
  taintGained(): string[];
  /** No complaint in the window (its messages explain a failure) and no new taint bit. */
  assertClean(): void;
}

/**
 * Registers the `before` hook in the calling describe block; call it there,
 * before other hooks. Also prints, after a test that failed (a timeout
 * included), the kernel log of that test when it holds a complaint: a
 * soft lockup's backtraces then reach the run's console even when the test
 * never got to its own check.
 */
export function moduleWindow(): ModuleWindow {
  let seq0 = 0;
  let taint0 = 0;
  let testSeq = 0;
  before(function () {
    loadModule(koPath(), {});
    seq0 = currentSeq();
    taint0 = readTaint();
  });
  beforeEach(function () {
    testSeq = currentSeq();
  });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    const records = readSince(testSeq).records;
    if (classifyWindow(records).length === 0) return;
    console.log(`# the kernel log during "${this.currentTest.title}", which failed:`);
    for (const r of records) console.log(`#   ${r.message}`);
  });
  const since = (): KmsgWindow => readSince(seq0);
  const gained = (): string[] => taintGained(taint0, readTaint());
  return {
    since,
    taintGained: gained,
    assertClean(): void {
      const w = since();
      assert.deepEqual(classifyWindow(w.records), [], w.records.map((r) => r.message).join('\n'));
      assert.deepEqual(gained(), []);
    },
  };
}
