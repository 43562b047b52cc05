/**
 * Guest suite, module loaded without hazards: how writes made through a
 * shared mapping reach the backing store, for the page-cache and
 * deferred-I/O methods and a plain vmalloc mapping (the control), under
 * every trigger. Each test's title is rewritten with what was measured.
 *
 * What is asserted is what must hold whatever the kernel decides: bytes
 * that arrived are exactly the bytes written, no read()/write() call was
 * needed, and the device's own paths (fsync, msync(MS_SYNC), FLUSH, the
 * deferred flush, the periodic sync, the release at close) deliver every
 * page by that path. Whether munmap, MS_ASYNC, sync or writeback expiry
 * deliver anything is the finding, recorded, not assumed.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { MEASURED_FILE_METHODS, measureTrigger, type Trigger, TRIGGERS_OF, type TriggerResult } from '../../lib/experiments/file-triggers';
import { moduleWindow } from './module-window';
import { FSYNC_TIMEOUT_MS, START_TIMEOUT_MS } from '../../lib/experiments/fsync-helper';

/** The trigger whose arrival path is the device's own, and that path. */
const OWN_PATH: Partial<Record<Trigger, string>> = {
  'msync-sync': 'fsync',
  'fsync-other-fd': 'fsync',
  flush: 'flush',
  deferred: 'deferred',
  periodic: 'periodic',
  close: 'release',
};

function describeResult(r: TriggerResult): string {
  if (r.error !== null) return `error: ${r.error}`;
  const paths = Object.entries(r.paths)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const when = r.arrived === 0 ? 'none arrived' : `first ${r.firstMs?.toFixed(1)} ms, last ${r.lastMs?.toFixed(1)} ms`;
  const fired = r.triggerMs ? `trigger ran ${r.triggerMs.start.toFixed(1)}-${r.triggerMs.end.toFixed(1)} ms; ` : '';
  return `${r.arrived}/${r.pages} pages (${fired}${when}${paths ? `; ${paths}` : ''}; batches ${r.batches}, mkwrite ${r.mkwriteFaults})`;
}

describe(`writes through a mapping reach the backing store on ${os.release()}`, function () {
  const kernel = moduleWindow();

  for (const method of MEASURED_FILE_METHODS) {
    for (const trigger of TRIGGERS_OF[method]) {
      it(`${method} / ${trigger}`, async function () {
        // The helper's own deadlines come first, so a hang says whether it
        // was the helper's start or its fsync.
        // So do the pressure writer's start and bound.
        const deadline =
          trigger === 'fsync-other-fd'
            ? START_TIMEOUT_MS + FSYNC_TIMEOUT_MS + 10_000
            : trigger === 'pressure'
              ? START_TIMEOUT_MS + 30_000
              : 30_000;
        this.timeout(deadline);
        const r = await measureTrigger(method, trigger);
        if (this.test) this.test.title = `${method} / ${trigger}: ${describeResult(r)}`;
        assert.equal(r.error, null, r.error ?? '');
        assert.equal(r.intact, true, 'every page that arrived holds what was written');
        assert.equal(r.readWriteCalls, 0, 'no read()/write() call on the device');
        const own = OWN_PATH[trigger];
        if (method === 'control') {
          assert.equal(r.arrived, r.pages, 'the control mapping is the buffer');
        } else if (own !== undefined) {
          assert.equal(r.arrived, r.pages, `every page arrives by ${own}`);
          assert.deepEqual(Object.keys(r.paths), [own]);
        }
      });
    }
  }

  it('the kernel log stayed clean: no complaint, no new taint', function () {
    // On failure the whole window: a report's backtrace says where it was.
    kernel.assertClean();
  });
});
