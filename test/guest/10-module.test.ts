/**
 * Guest suite: runs inside a VM as root, with mmaplab.ko at $MMAPLAB_KO.
 * Each test reloads the module with the parameters it needs; the hazard
 * test comes last because it leaves the kernel tainted B.
 */
import * as assert from 'node:assert/strict';
import { Device } from '../../lib/device';
import { findCells } from '../../lib/experiments/catalogue';
import type { CellSpec } from '../../lib/experiments/types';
import { CellRunner } from '../../lib/runner/cell-runner';
import { loadModule, moduleParam } from '../../lib/runner/module';
import * as os from 'node:os';
import { koPath } from './ko-path';
import { at } from '../../lib/util/at';

/** The cell whose id is `pattern`, or else the one cell whose id contains it. */
function onlyCell(pattern: string): CellSpec {
  const matching = findCells([pattern]);
  const exact = matching.filter((c) => c.id === pattern);
  const cells = exact.length > 0 ? exact : matching;
  assert.equal(cells.length, 1, `exactly one cell matches ${pattern}`);
  return at(cells, 0, `the cell ${pattern}`);
}

function expectErrno(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: Error & { code?: string; syscall?: string }) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.equal(err.syscall, 'ioctl');
    return true;
  });
}

describe(`mmaplab on ${os.release()}`, function () {
  const runner = new CellRunner({ kernel: os.release() });
  after(() => runner.close());

  describe('module loaded without allow_hazards', function () {
    before(() => loadModule(koPath(), {}));

    it('reports allow_hazards=N in sysfs', function () {
      assert.equal(moduleParam('allow_hazards'), 'N');
    });

    it('refuses the hazard configuration: in TypeScript unless asked for, then in the module with EPERM', function () {
      const dev = Device.open();
      try {
        const hazard = { alloc: 'pages_nocomp', method: 'fault_page', size: 16384 } as const;
        assert.throws(
          () => dev.configure(hazard),
          (e: Error & { code?: string }) => e.code === 'ERR_HAZARD_NOT_REQUESTED',
        );
        expectErrno(() => dev.configure({ ...hazard, hazards: true }), 'EPERM');
      } finally {
        dev.close();
      }
    });

    it('rejects bad CONFIGURE input with an errno, never an oops', function () {
      const dev = Device.open();
      try {
        const base = { alloc: 1, method: 1, size: 65536n, flags: 0, cache: 0, delay_ms: 0, period_ms: 0 };
        expectErrno(() => dev.configureRaw({ ...base, size: 0n }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, size: 4097n }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, size: 1n << 40n }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, alloc: 0 }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, method: 99 }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, flags: 1 }), 'EINVAL');
        expectErrno(() => dev.configureRaw({ ...base, alloc: 2, method: 1 }), 'EINVAL');
        expectErrno(() => dev.fill(1), 'ENODEV');
      } finally {
        dev.close();
      }
    });

    it('refuses to reconfigure while mapped (EBUSY) and mmap beyond the buffer (EINVAL)', function () {
      const dev = Device.open();
      try {
        dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 65536 });
        assert.throws(
          () => dev.map({ length: 65536 * 2 }),
          (e: Error & { code?: string }) => e.code === 'EINVAL',
        );
        const map = dev.map({ length: 65536 });
        expectErrno(() => dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 8192 }), 'EBUSY');
        map.unmap();
        dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 8192 });
      } finally {
        dev.close();
      }
    });

    it('vmalloc_user + remap_vmalloc_range: verdict ok, data correct both ways, clean kmsg, no new taint', async function () {
      const r = await runner.run(onlyCell('vmalloc_user/remap_vmalloc_range/16K/basic'));
      assert.equal(r.verdict, 'ok', `${r.verdict}: ${r.headline}\n${r.evidence.kmsg.join('\n')}`);
      const obs = r.evidence.observation;
      assert.ok(obs);
      assert.deepEqual(obs.steps, ['open', 'configure', 'fill', 'mmap', 'read', 'write', 'verify', 'munmap', 'drain', 'close']);
      assert.equal(obs.stats?.vmaOpens, 1, 'STATS counted the mapping');
      assert.equal(obs.kernelToUser, null);
      assert.equal(obs.userToKernel, null);
      assert.deepEqual(r.evidence.findings, []);
      assert.deepEqual(r.evidence.taintGained, []);
    });
  });
});
