/**
 * The restore part of `mmaplab bench` without a VM (lib/cli/bench-restore.ts):
 * which figures a saved template and a restored copy's run give, how the
 * repetitions become Stats (null where none measured a figure), the bench
 * templates' own keys, and the hazard cell it times.
 */
import { strict as assert } from 'node:assert';
import { validateBenchReport } from '../../lib/bench/schema';
import { type BenchReport, RESTORE_FIGURES } from '../../lib/bench/types';
import {
  BENCH_HAZARD_CELL,
  BENCH_SAVES,
  benchTemplateInputs,
  restoreBench,
  restoredFigures,
  saveAgain,
  saveFigures,
  shortfall,
} from '../../lib/cli/bench-restore';
import { findCells } from '../../lib/experiments/catalogue';
import { MARK_AGENT_READY, MARK_CELL_DONE } from '../../lib/vm/job';
import type { TemplateInputs } from '../../lib/vm/template';
import { benchFixture } from './bench-fixture';
import { at } from '../../lib/util/at';

describe('bench restore part (lib/cli/bench-restore.ts)', function () {
  it('a saved template gives its boot to the agent waiting and, apart, the save after it', function () {
    assert.deepEqual(saveFigures({ readyMs: 2100, savedMs: 2450 }), { templateReadyMs: 2100, saveMs: 350 });
  });

  it('a restored copy gives its state loaded, its agent ready and the first cell done, each from QEMU start', function () {
    const run = {
      boot: { marks: { [MARK_AGENT_READY]: 450, [MARK_CELL_DONE]: 1500 } },
      start: { kind: 'restored' as const, template: 'k', loadedMs: 120, resumedMs: 300 },
    };
    assert.deepEqual(restoredFigures(run), { loadedMs: 120, restoreReadyMs: 450, hazardCellMs: 1500 });
  });

  it('a copy that never got there gives no figure for it; a cold run gives no state loaded', function () {
    const failed = { boot: { marks: {} }, start: { kind: 'restored' as const, template: 'k', loadedMs: null, resumedMs: null } };
    assert.deepEqual(restoredFigures(failed), {});
    const died = {
      boot: { marks: { [MARK_AGENT_READY]: 450 } },
      start: { kind: 'restored' as const, template: 'k', loadedMs: 120, resumedMs: 300 },
    };
    assert.deepEqual(restoredFigures(died), { loadedMs: 120, restoreReadyMs: 450 });
    assert.deepEqual(restoredFigures({ boot: { marks: { [MARK_AGENT_READY]: 4000 } }, start: { kind: 'cold' } }), { restoreReadyMs: 4000 });
  });

  it('shortfall() names what the copy did not get to, how it ended and its run directory', function () {
    assert.equal(
      shortfall({ runDir: '/runs/r1', boot: { end: 'timeout' } }, { loadedMs: 120, restoreReadyMs: 450 }),
      "the restored copy ended (timeout) without the cell's verdict (run directory /runs/r1)",
    );
    assert.equal(
      shortfall({ runDir: '/runs/r2', boot: { end: 'restore-failed' } }, {}),
      "the restored copy ended (restore-failed) without its state loaded, its agent ready, the cell's verdict (run directory /runs/r2)",
    );
  });

  it('restoreBench() makes a Stat of each figure over the repetitions that have it, null where none has', function () {
    const r = restoreBench(
      [
        { templateReadyMs: 2000, saveMs: 300, loadedMs: 100, restoreReadyMs: 400, hazardCellMs: 1400 },
        { templateReadyMs: 2200, saveMs: 400 },
        { templateReadyMs: 2100, saveMs: 350, loadedMs: 140, restoreReadyMs: 500 },
      ],
      BENCH_HAZARD_CELL,
      ['run 2/3: saving a template failed'],
    );
    assert.deepEqual(r.templateReadyMs, { median: 2100, min: 2000, max: 2200, n: 3 });
    assert.deepEqual(r.saveMs, { median: 350, min: 300, max: 400, n: 3 });
    assert.deepEqual(r.loadedMs, { median: 120, min: 100, max: 140, n: 2 });
    assert.deepEqual(r.restoreReadyMs, { median: 450, min: 400, max: 500, n: 2 });
    assert.deepEqual(r.hazardCellMs, { median: 1400, min: 1400, max: 1400, n: 1 });
    assert.equal(r.hazardCell, BENCH_HAZARD_CELL);
    assert.deepEqual(r.failures, ['run 2/3: saving a template failed']);
  });

  it('with nothing measured every figure is null and the reason stays; the result is valid bench.json', function () {
    const r = restoreBench([{}, {}], BENCH_HAZARD_CELL, ['6.1 cannot be restored: no image root']);
    for (const f of RESTORE_FIGURES) assert.equal(r[f], null, f);
    const report = JSON.parse(JSON.stringify(benchFixture())) as BenchReport;
    const k = at(report.kernels, 0, 'the first kernel');
    if (k.harness === null) assert.fail('the fixture has a harness');
    k.harness.restore = r;
    assert.deepEqual(validateBenchReport(report), report);
  });

  it('a bench template has a key of its own per repetition and process, and the cached inputs otherwise', function () {
    const inputs: TemplateInputs = {
      image: { path: '/c/vmlinux', kind: 'vmlinux' },
      cmdline: [],
      initramfs: '/c/initramfs',
      runtimeImage: '/c/rt.img',
      key: 'abcdef0123456789',
    };
    const one = benchTemplateInputs(inputs, 1, 4242);
    assert.deepEqual(one, { ...inputs, key: 'abcdef0123456789-bench-4242-1' });
    assert.notEqual(benchTemplateInputs(inputs, 2, 4242).key, one.key);
    assert.equal(inputs.key, 'abcdef0123456789', 'the cached inputs are left as they were');
  });

  it('a save whose guest panicked is tried once more; any other failure, or a second panic, is the shortfall', function () {
    assert.equal(BENCH_SAVES, 2);
    assert.equal(saveAgain({ end: 'panic' }, 1), true);
    assert.equal(saveAgain({ end: 'panic' }, 2), false);
    for (const end of ['timeout', 'qemu-error', 'exited', 'restore-failed'] as const) assert.equal(saveAgain({ end }, 1), false, end);
  });

  it('the hazard cell timed is a catalogue hazard of the default boot profile', function () {
    const cell = findCells([BENCH_HAZARD_CELL]).find((c) => c.id === BENCH_HAZARD_CELL);
    assert.ok(cell, 'in the catalogue');
    assert.equal(cell.hazard, true);
    assert.equal(cell.profile, 'default', 'restored from the same template shape as the default cells');
  });
});
