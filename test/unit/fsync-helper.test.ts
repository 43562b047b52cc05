/** lib/experiments/fsync-helper on an ordinary file, and lateTrigger: when the fsync-other-fd trigger fired. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lateTrigger } from '../../lib/experiments/file-triggers';
import { FsyncHelper } from '../../lib/experiments/fsync-helper';
import type { StoreSnapshot } from '../../lib/device/store';

describe('fsync-other-fd trigger timing (lib/experiments/fsync-helper.ts)', function () {
  this.timeout(20_000);
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fsync-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a helper started before the writes fsyncs its copy of the descriptor on request, after the request, on the monotonic clock', async function () {
    const fd = fs.openSync(path.join(dir, 'f'), 'w');
    try {
      const helper = await FsyncHelper.start(fd);
      try {
        fs.writeSync(fd, 'written after the helper started');
        const asked = process.hrtime.bigint();
        const t = await helper.fsync();
        const answered = process.hrtime.bigint();
        assert.ok(t.startNs >= asked, 'began after it was asked (same clock in both processes)');
        assert.ok(t.endNs >= t.startNs && t.endNs <= answered);
      } finally {
        helper.close();
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('an fsync that fails in the helper is an error naming the errno', async function () {
    // /dev/null has no ->fsync: fsync(2) on it is EINVAL.
    const fd = fs.openSync('/dev/null', 'w');
    try {
      const helper = await FsyncHelper.start(fd);
      try {
        await assert.rejects(helper.fsync(), /^Error: fsync in the helper failed: EINVAL$/);
      } finally {
        helper.close();
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('lateTrigger: pages that arrived another way before the trigger began make the cell "not measured"', function () {
    const t0 = 1_000_000_000n;
    const page = (ms: number | null, p: string | null) => ({ arrivedNs: ms === null ? null : t0 + BigInt(ms * 1e6), path: p });
    const snap = (pages: Array<{ arrivedNs: bigint | null; path: string | null }>) => ({ pages }) as unknown as StoreSnapshot;
    const r = { trigger: 'fsync-other-fd' as const, triggerMs: { start: 10_500, end: 10_520 } };
    assert.equal(
      lateTrigger(r, snap([page(10_090, 'deferred'), page(10_091, 'deferred')]), t0),
      'not measured: fsync-other-fd began 10500 ms after the writes, when 2 page(s) had already arrived by deferred',
    );
    assert.equal(lateTrigger(r, snap([page(10_510, 'fsync'), page(null, null)]), t0), null, 'arrived by the trigger itself');
    assert.equal(lateTrigger({ trigger: 'sync' }, snap([page(5, 'writeback')]), t0), null, 'no trigger time known');
  });
});
