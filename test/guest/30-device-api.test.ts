/**
 * Guest suite, module loaded WITHOUT allow_hazards: the device API against
 * the real module. Every Device and Mapping method; fork through inherited
 * mappings, shared and private, for every safe allocator x method pair;
 * and the abuse a script can inflict (use after unmap, double unmap, unmap
 * during msync, close with live mappings, mappings left to the garbage
 * collector). None may crash node, leak a mapping (/proc/self/maps) or make
 * the kernel complain.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { Device, failureReason, isSyscallError, type Mapping } from '../../lib/device';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';
import type { MethodName } from '../../lib/device/layout';
import { HAZARD_ALLOCS, OWN_PAGE_ALLOCS, reservedIsHazard } from '../../lib/experiments/support';
import { seriesOf } from '../../lib/vm/kernels';
import { code, deviceMaps } from './device-proc';
import { moduleWindow } from './module-window';

const PAGE = 4096;

/**
 * The methods whose private mappings the module refuses itself: the
 * VM_PFNMAP fault handlers (a COW fault there would BUG) and deferred I/O
 * (a private write never reaches the flush). Any other refusal of a private
 * mapping is the kernel's (remap_pfn_range page by page over a COW VMA).
 */
const MODULE_REFUSES_PRIVATE: readonly MethodName[] = ['vmf_insert_pfn', 'vmf_insert_pfn_prot', 'deferred_io', 'deferred_io_keep_mapping'];

describe(`device API against the module on ${os.release()}`, function () {
  const kernel = moduleWindow();

  afterEach(function () {
    assert.deepEqual(deviceMaps(), [], 'no mapping of the device is left behind');
  });

  it('every Device method: configure, fill/verify (sync and async), map, stats, info, lastError, read/write', async function () {
    using dev = Device.open();
    dev.configure({ alloc: 'vmalloc_user', method: 'fault_page', size: 16 * PAGE, faultAround: false });
    dev.fill(1);
    assert.equal(dev.verify(1).ok, true);
    await dev.fillAsync(2);
    const v = await dev.verifyAsync(2);
    assert.deepEqual(v, { ok: true, mismatch: null, expected: v.expected, found: v.found });
    assert.equal((await dev.verifyAsync(3)).ok, false);

    {
      using whole = dev.map();
      assert.equal(whole.length, 16 * PAGE, 'map() without a length maps the configured size');
      assert.equal(whole.checkPattern(2), null);
      using tail = dev.map({ offset: 12 * PAGE });
      assert.equal(tail.length, 4 * PAGE);
      assert.equal(tail.checkPattern(2), null, 'the pattern is in buffer coordinates');
      using ro = dev.map({ length: PAGE, prot: 'r', populate: true });
      assert.equal(ro.prot, 'r');
      assert.equal(ro.residentPages(), 1, 'MAP_POPULATE faulted the page in');
      const info = dev.info({ pages: true });
      assert.deepEqual([info.alloc, info.method, info.configured, info.mappings], ['vmalloc_user', 'fault_page', true, 3]);
      assert.equal(info.pages?.length, 16);
    }
    const st = dev.stats();
    // One fault per page read, in each VMA: the whole buffer (16), the tail (4), and the one page MAP_POPULATE faulted in.
    assert.equal(st.faults, 16n + 4n + 1n, 'faults counted');
    assert.equal(st.vmaOpens, st.vmaCloses, 'every VMA opened was closed');

    const bad = (() => {
      try {
        dev.map({ length: 32 * PAGE });
      } catch (err) {
        return err;
      }
      return null;
    })();
    assert.equal(code(bad), 'EINVAL');
    assert.equal(failureReason(bad)?.reason, 'range');
    assert.equal(dev.lastError().reason, 'range');
    assert.equal(dev.write(new Uint8Array(PAGE).fill(0xaa), 0), PAGE);
    assert.equal(dev.read(4, 0).readUInt32LE(0), 0xaaaaaaaa);
  });

  it('reserved pages: marked on every page while configured, refused where the module has no pages of its own; kept, and on compound pages, a hazard', function () {
    using dev = Device.open();
    dev.configure({ alloc: 'pages_split', method: 'remap_pfn_range', size: 4 * PAGE, reserved: 'cleared' });
    const info = dev.info({ pages: true });
    assert.equal(info.reserved, 'cleared');
    assert.deepEqual(
      info.pages?.map((p) => p.reserved),
      [true, true, true, true],
      'PG_reserved on every page of the split block',
    );
    dev.fill(7);
    {
      using m = dev.map();
      assert.equal(m.checkPattern(7), null);
    }
    const refused = (opts: Parameters<Device['configure']>[0]): [string | undefined, string | undefined] => {
      try {
        dev.configure(opts);
      } catch (err) {
        return [code(err), failureReason(err)?.reason ?? undefined];
      }
      return [undefined, undefined];
    };
    assert.deepEqual(refused({ alloc: 'dma_coherent', method: 'remap_pfn_range', size: 4 * PAGE, reserved: 'cleared' }), [
      'EINVAL',
      'combination',
    ]);
    assert.deepEqual(refused({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE, reserved: 'cleared' }), ['EINVAL', 'combination']);
    assert.deepEqual(refused({ alloc: 'pages_array', method: 'remap_pfn_range', size: 4 * PAGE, reserved: 'kept', hazards: true }), [
      'EPERM',
      'hazard-disabled',
    ]);
    // PG_reserved is PF_NO_COMPOUND: a slab's pages and a __GFP_COMP block's are not to be
    // marked. The module's allocator table and reservedIsHazard must name the same allocators.
    const reservable = OWN_PAGE_ALLOCS.filter((a) => !HAZARD_ALLOCS.includes(a));
    for (const [alloc, size] of [...reservable.map((a) => [a, 4 * PAGE] as const), ['kmalloc', PAGE] as const]) {
      assert.deepEqual(
        refused({ alloc, method: 'remap_pfn_range', size, reserved: 'cleared', hazards: true }),
        reservedIsHazard(alloc) ? ['EPERM', 'hazard-disabled'] : [undefined, undefined],
        `${alloc} ${size / PAGE} page(s) marked reserved`,
      );
    }
    dev.configure({ alloc: 'pages_array', method: 'vm_insert_page', size: 4 * PAGE });
    assert.equal(dev.info().reserved, null);
    assert.deepEqual(
      dev.info({ pages: true }).pages?.map((p) => p.reserved),
      [false, false, false, false],
      'a buffer without the ritual has no reserved page',
    );
  });

  it('Mapping methods on a fault-handler mapping: touch, mincore, madvise(DONTNEED) and refault, mprotect, msync, partial munmap', async function () {
    using dev = Device.open();
    dev.configure({ alloc: 'pages_array', method: 'fault_page', size: 8 * PAGE });
    dev.fill(5);
    const m = dev.map();
    let maps: Mapping[] = [m];
    try {
      assert.equal(m.residentPages(), 0, 'nothing faulted in yet');
      assert.equal(m.touch('read'), 8);
      assert.equal(m.residentPages(), 8);
      m.advise('dontneed');
      assert.equal(m.residentPages(), 0, 'DONTNEED zapped the page table entries');
      assert.equal(m.checkPattern(5), null, 'the refault brings back the driver pages');
      m.writePattern(6);
      // The device has no ->fsync, so the kernel's msync(MS_SYNC) of a shared
      // file mapping fails in vfs_fsync_range() with EINVAL; MS_ASYNC only
      // marks pages and succeeds. Userspace writes went straight to the
      // driver's pages anyway.
      assert.throws(
        () => m.msync(),
        (e: unknown) => code(e) === 'EINVAL',
      );
      await assert.rejects(m.msyncAsync(), (e: unknown) => code(e) === 'EINVAL');
      m.msync({ mode: 'async' });
      await m.msyncAsync({ mode: 'async' });
      assert.equal(dev.verify(6).ok, true);
      m.protect('r');
      assert.equal(m.checkPattern(6), null, 'reads still work after mprotect(PROT_READ)');
      m.protect('rw');
      maps = m.unmapRange({ offset: 2 * PAGE, length: 4 * PAGE });
      assert.deepEqual(
        maps.map((r) => [r.offset, r.length]),
        [
          [0, 2 * PAGE],
          [6 * PAGE, 2 * PAGE],
        ],
      );
      for (const r of maps) assert.equal(r.checkPattern(6), null);
      assert.equal(deviceMaps().length, 2);
      assert.equal(dev.info().mappings, 2, 'the module saw the split');
    } finally {
      for (const r of maps) r.unmap();
    }
  });

  it('mremap: shrinking works, growing a VM_DONTEXPAND mapping is refused and leaves it intact', function () {
    using dev = Device.open();
    dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 8 * PAGE });
    dev.fill(9);
    using m = dev.map({ length: 4 * PAGE });
    let grew: unknown = null;
    try {
      m.remap(8 * PAGE).unmap();
    } catch (err) {
      grew = err;
    }
    assert.ok(isSyscallError(grew) && grew.syscall === 'mremap', `growing is refused (${String(grew)})`);
    assert.equal(m.unmapped, false, 'the refused mremap left the mapping alone');
    const small = m.remap(2 * PAGE);
    assert.equal(m.buffer.byteLength, 0);
    assert.equal(small.checkPattern(9), null);
    small.unmap();
  });

  describe('fork: the child writes through the inherited mapping', function () {
    // Every pair the matrix expects to map (refusals are the matrix's business).
    const pairs = CATALOGUE.filter(
      (c) =>
        c.profile === 'default' &&
        !c.hazard &&
        c.scenario === 'basic' &&
        c.cache === 'wb' &&
        !c.faultAround &&
        !c.reserved &&
        !c.via &&
        expectationFor(c, seriesOf(os.release()))?.verdict === 'ok',
    );
    for (const cell of pairs) {
      it(`${cell.id}: shared shows the child's writes to parent and kernel, private keeps them in the child`, function () {
        using dev = Device.open();
        dev.configure({ alloc: cell.alloc, method: cell.method, size: cell.size });
        dev.fill(0x100);
        {
          using shared = dev.map();
          assert.deepEqual(shared.forkWrite(0x200), { exitCode: 0, signal: null });
          assert.equal(shared.checkPattern(0x200), null, 'the parent sees the child writes');
          assert.equal(dev.verify(0x200).ok, true, 'the kernel sees the child writes');
        }
        dev.fill(0x300);
        let priv: Mapping;
        try {
          priv = dev.map({ private: true });
        } catch (err) {
          // The module refuses what would hit a BUG_ON ('private'); the
          // kernel refuses a page-by-page remap_pfn_range of a COW mapping
          // (it must cover the whole VMA in one call) - 'kernel'.
          const reason = failureReason(err)?.reason;
          const expected = MODULE_REFUSES_PRIVATE.includes(cell.method) ? 'private' : 'kernel';
          assert.equal(reason, expected, `a private mapping refused (${String(err)})`);
          return;
        }
        try {
          priv.touch('read');
          assert.deepEqual(priv.forkWrite(0x400), { exitCode: 0, signal: null });
          assert.equal(priv.checkPattern(0x300), null, "the parent's private view is unchanged");
          assert.equal(dev.verify(0x300).ok, true, 'the driver buffer is unchanged');
        } finally {
          priv.unmap();
        }
      });
    }
  });

  describe('abuse', function () {
    it('use after unmap: views are empty, calls throw EALREADY, a second unmap is a no-op', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'pages_comp', method: 'remap_pfn_range', size: 4 * PAGE });
      using m = dev.map();
      const view = new Uint32Array(m.buffer);
      m.unmap();
      m.unmap();
      assert.equal(view.length, 0);
      assert.equal(view[0], undefined);
      for (const fn of [() => m.msync(), () => m.protect('r'), () => m.residentPages(), () => m.remap(PAGE)]) {
        assert.throws(fn, (e: unknown) => code(e) === 'EALREADY');
      }
      assert.equal(m.touch('write'), 0, 'a touch of a detached buffer touches nothing');
    });

    it('unmap during msync is EBUSY; once msync settles it unmaps', async function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 256 * PAGE });
      using m = dev.map();
      m.touch('write');
      const pending = m.msyncAsync({ mode: 'async', invalidate: true });
      assert.throws(
        () => m.unmap(),
        (e: unknown) => code(e) === 'EBUSY',
      );
      await pending;
      m.unmap();
      assert.equal(m.unmapped, true);
    });

    it('close with live mappings: they keep working, the session ends when the last one goes', function () {
      const dev = Device.open();
      dev.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: 4 * PAGE });
      dev.fill(0x55);
      const maps = [dev.map(), dev.map({ offset: PAGE, length: PAGE })];
      try {
        dev.close();
        dev.close();
        assert.throws(
          () => dev.stats(),
          (e: unknown) => code(e) === 'ERR_DEVICE_CLOSED',
        );
        for (const m of maps) assert.equal(m.checkPattern(0x55), null);
        assert.equal(deviceMaps().length, 2);
      } finally {
        for (const m of maps) m.unmap();
      }
    });

    it('mappings dropped without unmap are unmapped by the garbage collector (child node with --expose-gc)', function () {
      this.timeout(120_000);
      const dist = path.resolve(__dirname, '../../lib/device');
      const script = `
        const { Device } = require(${JSON.stringify(dist)});
        const fs = require('fs');
        const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('/dev/mmaplab')).length;
        (async () => {
          const dev = Device.open();
          dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 16 * 4096 });
          for (let i = 0; i < 64; i++) new Uint8Array(dev.map().buffer)[i] = 1;
          const before = count();
          for (let i = 0; i < 20 && count() > 0; i++) {
            global.gc();
            await new Promise((r) => setImmediate(r));
          }
          const after = count();
          dev.close();
          console.log(JSON.stringify({ before, after }));
        })();`;
      const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
      assert.ok(before > 0, 'the child had live mappings before GC');
      assert.equal(after, 0, `the finalizer unmapped them (${before} before GC)`);
    });

    it('bad arguments from JavaScript are TypeError/RangeError before any system call', function () {
      using dev = Device.open();
      const statsBefore = dev.stats();
      assert.throws(() => dev.configure({ alloc: 'slab' as never, method: 'fault_page', size: PAGE }), TypeError);
      assert.throws(() => dev.configure({ alloc: 'kmalloc', method: 'remap_pfn_range', size: -1 }), RangeError);
      assert.throws(() => dev.map({ length: 0 }), RangeError);
      assert.throws(() => dev.map({ length: PAGE, offset: 1 }), RangeError);
      assert.throws(() => dev.fill(NaN), RangeError);
      assert.deepEqual(dev.stats(), statsBefore, 'the module saw nothing');
      assert.equal(dev.lastError().reason, 'none');
    });
  });

  it('the API tests left no complaint in the log and no taint beyond O/E', function () {
    kernel.assertClean();
  });
});
