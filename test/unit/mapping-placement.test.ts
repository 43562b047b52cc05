/**
 * Where a mapping goes (MmapOptions.placement) on an ordinary file: the
 * kernel's choice, a hint, MAP_FIXED_NOREPLACE, and MAP_FIXED over a
 * mapping of this API (whole or part of it, with its remnants), checked in
 * TypeScript before any mmap; and the raw addon calls behind them, which
 * never let MAP_FIXED land outside a mapping they own.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { freeAddress, mapFd } from '../../lib/device';
import { native, nativeConstants } from '../../lib/device/native';
import { firstBytes, useEightPageFile } from './eight-page-file';
import { assertArgError, assertSyscallError, thrown } from './device-asserts';
import { at } from '../../lib/util/at';

const M2 = 2 << 20;

/** The /proc/self/maps ranges of `file`, as [start, end) numbers. */
function rangesOf(file: string): [number, number][] {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${file}`))
    .map((l) => (l.split(' ')[0] ?? '').split('-').map((h) => parseInt(h, 16)) as [number, number]);
}

describe('mapping placement on an ordinary file', function () {
  let file: string;
  let page: number;
  let fd: number;

  useEightPageFile('mmaplab-place-', (f) => ({ file, page, fd } = f));

  it('kernel-chosen by default: address is where /proc/self/maps shows the file, remnants empty', () => {
    const m = mapFd(fd, 3 * page);
    assert.deepEqual(rangesOf(file), [[m.address, m.address + 3 * page]]);
    assert.equal(m.address % page, 0);
    assert.deepEqual(m.remnants, []);
    assert.deepEqual(mapFd(fd, page, { placement: { mode: 'kernel' } }).remnants, []);
    const at = m.address;
    m.unmap();
    assert.equal(m.address, at, 'the address stays readable after unmap');
  });

  it('a hint at a free 2 MiB-aligned address is honoured; an occupied one is not, and nothing is replaced', () => {
    const at = freeAddress(8 * page, M2);
    const m = mapFd(fd, 4 * page, { offset: 2 * page, placement: { mode: 'hint', address: at } });
    assert.equal(m.address, at);
    assert.deepEqual(firstBytes(m), [3, 4, 5, 6]);
    const again = mapFd(fd, page, { placement: { mode: 'hint', address: at } });
    assert.notEqual(again.address, at, 'the range is taken: the kernel chose elsewhere');
    assert.deepEqual(firstBytes(m), [3, 4, 5, 6], 'the first mapping is untouched');
    // An unaligned hint is rounded down to a page by the kernel, not refused.
    m.unmap();
    const unaligned = mapFd(fd, page, { placement: { mode: 'hint', address: at + 123 } });
    assert.equal(unaligned.address, at);
    again.unmap();
    unaligned.unmap();
  });

  it('fixed-noreplace maps exactly there, or fails with EEXIST and leaves the mapping there alone', () => {
    const at = freeAddress(8 * page, M2);
    const m = mapFd(fd, 2 * page, { placement: { mode: 'fixed-noreplace', address: at } });
    assert.equal(m.address, at);
    assertSyscallError(() => mapFd(fd, page, { placement: { mode: 'fixed-noreplace', address: at + page } }), 'EEXIST', 'mmap');
    assert.deepEqual(firstBytes(m), [1, 2]);
    assert.deepEqual(rangesOf(file), [[at, at + 2 * page]]);
    m.unmap();
  });

  it('fixed over a whole mapping replaces it: the old one is detached, the new one is at the same address, no remnants', () => {
    const old = mapFd(fd, 2 * page);
    const view = new Uint8Array(old.buffer);
    const m = mapFd(fd, 2 * page, { offset: 4 * page, placement: { mode: 'fixed', over: old } });
    assert.equal(old.unmapped, true);
    assert.equal(view.length, 0, 'views of the old mapping are detached');
    assert.equal(m.address, old.address);
    assert.deepEqual(m.remnants, []);
    assert.deepEqual(firstBytes(m), [5, 6]);
    assert.deepEqual(rangesOf(file), [[m.address, m.address + 2 * page]]);
    m.unmap();
  });

  it('fixed over the middle of a mapping splits it: remnants before and after keep their data and offsets', () => {
    const old = mapFd(fd, 6 * page, { offset: page });
    const m = mapFd(fd, 2 * page, { offset: 6 * page, placement: { mode: 'fixed', over: old, offset: 2 * page } });
    assert.equal(m.address, old.address + 2 * page);
    assert.deepEqual(firstBytes(m), [7, 8]);
    const [before, after] = m.remnants;
    assert.ok(before && after && m.remnants.length === 2);
    assert.deepEqual([before.address, before.length, before.offset], [old.address, 2 * page, page]);
    assert.deepEqual([after.address, after.length, after.offset], [old.address + 4 * page, 2 * page, 5 * page]);
    assert.deepEqual(firstBytes(before), [2, 3]);
    assert.deepEqual(firstBytes(after), [6, 7]);
    const at = (n: number): number => old.address + n * page;
    assert.deepEqual(
      rangesOf(file),
      [
        [at(0), at(2)],
        [at(2), at(4)],
        [at(4), at(6)],
      ],
      'three VMAs of the file, side by side',
    );
    for (const x of [before, m, after]) x.unmap();
    assert.deepEqual(rangesOf(file), []);
  });

  it('an unaligned length is mapped to the end of its page: it replaces whole pages and its buffer is exactly as long', () => {
    const old = mapFd(fd, 4 * page);
    const m = mapFd(fd, page + 100, { placement: { mode: 'fixed', over: old, offset: page } });
    assert.equal(m.length, page + 100);
    assert.deepEqual(
      m.remnants.map((r) => [r.address - old.address, r.length]),
      [
        [0, page],
        [3 * page, page],
      ],
    );
    // Over a mapping of one page, anything up to a page fits.
    const after = at(m.remnants, 1, 'the remnant after');
    const tail = mapFd(fd, page - 1, { offset: 7 * page, placement: { mode: 'fixed', over: after } });
    assert.deepEqual([tail.address, tail.length, tail.remnants.length], [after.address, page - 1, 0]);
    assert.deepEqual(firstBytes(tail), [8]);
    for (const x of [m, ...m.remnants, tail]) x.unmap();
    assert.deepEqual(rangesOf(file), []);
  });

  it('placement is checked before mmap: modes, addresses, offsets and lengths (TypeError, RangeError)', () => {
    const old = mapFd(fd, 2 * page);
    assertArgError(() => mapFd(fd, page, { placement: null as never }), 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'anywhere' } as never }), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'hint', address: -1 } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'hint', address: 2 ** 53 } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'hint', address: '4096' as never } }), 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'fixed-noreplace', address: page + 1 } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'fixed-noreplace', address: 0 } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'fixed', over: {} as never } }), 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'fixed', over: old, offset: 1 } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { placement: { mode: 'fixed', over: old, offset: 2 * page } }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, 2 * page, { placement: { mode: 'fixed', over: old, offset: page } }), 'ERR_OUT_OF_RANGE');
    assert.equal(old.unmapped, false, 'nothing was mapped over it');
    assert.deepEqual(firstBytes(old), [1, 2]);
    old.unmap();
    assertSyscallError(() => mapFd(fd, page, { placement: { mode: 'fixed', over: old } }), 'EALREADY', 'mmap');
  });

  it('a MAP_FIXED the kernel refuses before unmapping (EACCES) leaves the old mapping whole', () => {
    const ro = native().open(file, nativeConstants().sys.O_RDONLY);
    try {
      const old = mapFd(fd, 2 * page);
      assertSyscallError(() => mapFd(ro, page, { placement: { mode: 'fixed', over: old } }), 'EACCES', 'mmap');
      assert.equal(old.unmapped, false);
      assert.deepEqual(firstBytes(old), [1, 2]);
      old.unmap();
    } finally {
      native().close(ro);
    }
  });

  it('a MAP_FIXED that fails after the kernel unmapped the range takes the whole old mapping with it', () => {
    // A sysfs attribute has an ->mmap that refuses (ENODEV) once the kernel
    // has unmapped the range for it.
    const attr = ['/sys/devices/system/cpu/online', '/sys/kernel/uevent_seqnum'].find((f) => fs.existsSync(f));
    assert.ok(attr, 'a sysfs attribute to map');
    const attrFd = native().open(attr, nativeConstants().sys.O_RDONLY);
    try {
      const old = mapFd(fd, 3 * page);
      const err = thrown(() => mapFd(attrFd, page, { prot: 'r', placement: { mode: 'fixed', over: old, offset: page } }));
      assert.equal((err as { code?: string }).code, 'ENODEV', String(err));
      assert.equal(old.unmapped, true, 'the old mapping is gone, not half there');
      assert.deepEqual(rangesOf(file), []);
    } finally {
      native().close(attrFd);
    }
  });

  it('freeAddress() gives an aligned address that a hint then gets, at 2 MiB and 1 GiB; it checks its arguments', () => {
    for (const align of [M2, 1 << 30]) {
      const at = freeAddress(2 * page, align);
      assert.equal(at % align, 0);
      const m = mapFd(fd, 2 * page, { placement: { mode: 'hint', address: at } });
      assert.equal(m.address, at, `honoured at ${align}`);
      m.unmap();
    }
    assertArgError(() => freeAddress(0, M2), 'ERR_OUT_OF_RANGE');
    assertArgError(() => freeAddress(page, page / 2), 'ERR_OUT_OF_RANGE');
    assertArgError(() => freeAddress(page, 3 * page), 'ERR_OUT_OF_RANGE');
  });

  it('the raw addon: mmap refuses MAP_FIXED; mmapOver checks its range; address() of an unmapped buffer is EALREADY', () => {
    const sys = nativeConstants().sys;
    const rw = sys.PROT_READ | sys.PROT_WRITE;
    assertArgError(() => native().mmap(fd, page, rw, sys.MAP_SHARED | sys.MAP_FIXED, 0, 0), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => native().mmap(fd, page, rw, sys.MAP_SHARED, 0, -1), 'ERR_INVALID_ARG_VALUE');
    const ab = native().mmap(fd, 2 * page, rw, sys.MAP_SHARED, 0);
    assertArgError(() => native().mmapOver(ab, 1, page, fd, rw, sys.MAP_SHARED, 0), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().mmapOver(ab, 2 * page, page, fd, rw, sys.MAP_SHARED, 0), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().mmapOver(ab, page, page + 1, fd, rw, sys.MAP_SHARED, 0), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().mmapOver(ab, 0, page, fd, rw, sys.MAP_SHARED, 1), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().mmapOver(ab, 0, page, fd, rw, sys.MAP_SHARED | sys.MAP_FIXED_NOREPLACE, 0), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => native().mmapOver(new ArrayBuffer(page), 0, page, fd, rw, sys.MAP_SHARED, 0), 'ERR_INVALID_ARG_VALUE');
    assert.equal(typeof native().address(ab), 'number');
    native().munmap(ab);
    assertSyscallError(() => native().address(ab), 'EALREADY', 'address');
    assertSyscallError(() => native().mmapOver(ab, 0, page, fd, rw, sys.MAP_SHARED, 0), 'EALREADY', 'mmap');
  });
});
