/**
 * The mapping calls of the addon and lib/device on ordinary files (the
 * addon's mmap works on any fd): partial munmap, mremap, mprotect,
 * madvise, mincore, msync (sync and on the thread pool, with EBUSY for an
 * unmap that would race it), native page loops, fork, and the child-process
 * runner for outcomes that kill a process.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Device, mapFd, patternWord, runIsolated } from '../../lib/device';
import { native, nativeConstants } from '../../lib/device/native';
import { parseChildLine } from '../../lib/device/isolated-schema';
import { firstBytes, useEightPageFile } from './eight-page-file';
import { assertArgError, assertDeviceError, assertSyscallError } from './device-asserts';

/** The address ranges of /proc/self/maps lines that name `file`. */
function mapsOf(file: string): string[] {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${file}`))
    .map((l) => l.split(' ')[0] ?? '');
}

describe('mapping calls on an ordinary file', function () {
  let file: string;
  let page: number;
  let fd: number;

  useEightPageFile('mmaplab-map-', (f) => ({ file, page, fd } = f));

  it('unmap() detaches every view and leaves no mapping behind in /proc/self/maps', () => {
    const m = mapFd(fd, 8 * page);
    const view = new Uint8Array(m.buffer);
    assert.equal(mapsOf(file).length, 1);
    m.unmap();
    assert.equal(view.length, 0);
    assert.equal(m.unmapped, true);
    assert.deepEqual(mapsOf(file), []);
    m.unmap();
  });

  it('unmapRange() punches a hole: two Mappings remain with their offsets and data, the old one is detached', () => {
    const m = mapFd(fd, 8 * page);
    const old = new Uint8Array(m.buffer);
    const rest = m.unmapRange({ offset: 2 * page, length: 3 * page });
    assert.equal(old.length, 0, 'the old buffer is detached');
    assert.deepEqual(
      rest.map((r) => [r.offset, r.length]),
      [
        [0, 2 * page],
        [5 * page, 3 * page],
      ],
    );
    assert.deepEqual(rest.map(firstBytes), [
      [1, 2],
      [6, 7, 8],
    ]);
    assert.equal(mapsOf(file).length, 2, 'two VMAs');
    const tail = rest[1]?.unmapRange({ offset: 2 * page, length: page }) ?? [];
    assert.deepEqual(
      tail.map((r) => [r.offset, r.length]),
      [[5 * page, 2 * page]],
    );
    assert.deepEqual(rest[0]?.unmapRange({ offset: 0, length: 2 * page }), [], 'the whole mapping: nothing remains');
    for (const r of tail) r.unmap();
    assert.deepEqual(mapsOf(file), []);
  });

  it('unmapRange() checks page alignment and bounds before munmap (RangeError)', () => {
    const m = mapFd(fd, 4 * page);
    assertArgError(() => m.unmapRange({ offset: 100, length: page }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => m.unmapRange({ offset: 0, length: 100 }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => m.unmapRange({ offset: 4 * page, length: page }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => m.unmapRange({ offset: 0, length: 5 * page }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => m.unmapRange({ offset: 0, length: 0 }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => m.unmapRange({ offset: '0' as never, length: page }), 'ERR_INVALID_ARG_TYPE');
    assert.equal(m.unmapped, false, 'nothing happened');
    m.unmap();
  });

  it('remap() grows and shrinks a file mapping; the old buffer is detached, data kept', () => {
    const m = mapFd(fd, 2 * page);
    const grown = m.remap(8 * page);
    assert.equal(m.buffer.byteLength, 0);
    assert.deepEqual(firstBytes(grown), [1, 2, 3, 4, 5, 6, 7, 8]);
    const shrunk = grown.remap(page, { mayMove: false });
    assert.deepEqual(firstBytes(shrunk), [1]);
    assertArgError(() => shrunk.remap(0), 'ERR_OUT_OF_RANGE');
    shrunk.unmap();
  });

  it('protect() and advise() work on ranges; mincore counts resident pages', () => {
    const m = mapFd(fd, 8 * page, { private: true });
    assert.equal(m.touch('write'), 8);
    assert.equal(m.residentPages(), 8);
    assert.deepEqual(m.residency(), new Array(8).fill(true));
    new Uint8Array(m.buffer)[page] = 0xee;
    m.advise('dontneed', { offset: page, length: page });
    assert.equal(new Uint8Array(m.buffer)[page], 2, 'a private page dropped by DONTNEED reads the file again');
    m.protect('r', { offset: 4 * page, length: 4 * page });
    assert.equal(m.prot, 'rw', 'a partial protect() leaves the recorded protection alone');
    m.protect('r');
    assert.equal(m.prot, 'r');
    assertArgError(() => m.protect('x' as never), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => m.advise('forget' as never), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => m.advise('dontneed', { offset: 1 }), 'ERR_OUT_OF_RANGE');
    m.unmap();
  });

  it('msyncAsync() writes back off the main thread; unmap() while it runs is EBUSY, afterwards it works', async () => {
    const m = mapFd(fd, 8 * page);
    m.writePattern(0x1234);
    const pending = m.msyncAsync();
    assertSyscallError(() => m.unmap(), 'EBUSY', 'munmap');
    assertSyscallError(() => m.remap(page), 'EBUSY', 'mremap');
    assertSyscallError(() => m.protect('r'), 'EBUSY', 'mprotect');
    assertSyscallError(() => m.unmapRange({ offset: 0, length: page }), 'EBUSY', 'munmap');
    await pending;
    m.unmap();
    const onDisk = new Uint32Array(fs.readFileSync(file).buffer.slice(0));
    assert.equal(onDisk[5], patternWord(0x1234, 5));
    await assert.rejects(m.msyncAsync(), (e: Error & { code?: string }) => e.code === 'EALREADY');
  });

  it('native pattern loops agree with patternWord() and honour the mapping offset', () => {
    const m = mapFd(fd, 2 * page, { offset: 4 * page });
    m.writePattern(77);
    const words = new Uint32Array(m.buffer);
    assert.equal(words[0], patternWord(77, page), 'word 0 is buffer word offset/4');
    assert.equal(m.checkPattern(77), null);
    words[10] = 0;
    assert.deepEqual(m.checkPattern(77), { offset: 4 * page + 40, expected: patternWord(77, page + 10), found: 0 });
    const progress = new Int32Array(1);
    assert.equal(m.touch('read', progress), 2);
    assert.equal(progress[0], 2, 'progress ends at the page count');
    assertArgError(() => m.touch('poke' as never), 'ERR_INVALID_ARG_VALUE');
    assertArgError(() => m.writePattern(-1), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().touch(m.buffer, true, new Float64Array(1) as never), 'ERR_INVALID_ARG_TYPE');
    m.unmap();
  });

  it('forkWrite(): a shared mapping shows the child writes to the parent and the file, a private one does not', () => {
    const shared = mapFd(fd, 2 * page);
    assert.deepEqual(shared.forkWrite(5), { exitCode: 0, signal: null });
    assert.equal(shared.checkPattern(5), null);
    const priv = mapFd(fd, 2 * page, { private: true });
    priv.touch('write');
    assert.deepEqual(priv.forkWrite(6), { exitCode: 0, signal: null });
    assert.notEqual(priv.checkPattern(6), null, 'copy-on-write kept the child writes in the child');
    const ro = mapFd(fd, page, { prot: 'r' });
    assert.deepEqual(ro.forkWrite(7), { exitCode: null, signal: 'SIGSEGV' });
    for (const m of [shared, priv, ro]) m.unmap();
  });

  it('mapFd() checks its arguments before mmap', () => {
    assertArgError(() => mapFd(fd, 0), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, NaN), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, -page), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, '4096' as never), 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => mapFd(fd, page, { offset: 512 }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => mapFd(fd, page, { private: 1 as never }), 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => mapFd(fd, page, { prot: 'wx' as never }), 'ERR_INVALID_ARG_VALUE');
    assertSyscallError(() => mapFd(-1, page), 'EBADF', 'mmap');
  });

  it('using: a Mapping and a Device are disposed at the end of their block', () => {
    let buffer: ArrayBuffer;
    let dev: Device;
    {
      using m = mapFd(fd, page);
      using d = Device.open('/dev/null');
      buffer = m.buffer;
      dev = d;
    }
    assert.equal(buffer.byteLength, 0);
    assert.equal(dev.closed, true);
  });
});

describe('device session state checks on the TypeScript side', function () {
  it('a hazard pair is refused without hazards: true, before any ioctl', () => {
    using dev = Device.open('/dev/null');
    assertDeviceError(() => dev.configure({ alloc: 'pages_nocomp', method: 'fault_page', size: 16384 }), 'ERR_HAZARD_NOT_REQUESTED');
    assertDeviceError(
      () => dev.configure({ alloc: 'vmalloc', method: 'remap_pfn_range_first_pfn', size: 16384 }),
      'ERR_HAZARD_NOT_REQUESTED',
    );
    assertArgError(() => dev.configure({ alloc: 'kmalloc', method: 'fault_page', size: 4096, hazards: 'yes' as never }));
    // Asked for, it reaches the kernel (here: /dev/null's ENOTTY).
    assertSyscallError(() => dev.configure({ alloc: 'pages_nocomp', method: 'fault_page', size: 16384, hazards: true }), 'ENOTTY', 'ioctl');
  });

  it('map() without a length needs a configured size', () => {
    using dev = Device.open('/dev/zero');
    assertDeviceError(() => dev.map(), 'ERR_NOT_CONFIGURED');
  });

  it('an asynchronous ioctl rejects like the synchronous one, and close() while it runs is ERR_DEVICE_BUSY', async () => {
    const dev = Device.open('/dev/null');
    const pending = dev.verifyAsync(1);
    assertDeviceError(() => dev.close(), 'ERR_DEVICE_BUSY');
    await assert.rejects(pending, (e: Error & { code?: string; syscall?: string; errno?: number }) => {
      return e.code === 'ENOTTY' && e.syscall === 'ioctl' && e.errno === -os.constants.errno.ENOTTY;
    });
    await assert.rejects(dev.fillAsync(1), (e: Error & { code?: string }) => e.code === 'ENOTTY');
    dev.close();
  });
});

describe('runIsolated(): outcomes that kill a process, seen from outside', function () {
  this.timeout(30_000);
  let dir: string;
  let page: number;
  before(() => {
    page = nativeConstants().PAGE_SIZE;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-iso-'));
    fs.writeFileSync(path.join(dir, 'one-page'), new Uint8Array(page));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('SIGBUS past the end of the file, on the first page beyond it', async () => {
    const r = await runIsolated({
      path: path.join(dir, 'one-page'),
      map: { length: 4 * page },
      steps: [{ op: 'touch', mode: 'read' }],
    });
    assert.equal(r.signal, 'SIGBUS', r.stderr);
    assert.equal(r.failedStep, 0);
    assert.equal(r.page, 1);
  });

  it('SIGSEGV on a write to a PROT_READ mapping, after the read went through', async () => {
    const r = await runIsolated({
      path: path.join(dir, 'one-page'),
      map: { length: page },
      steps: [
        { op: 'protect', prot: 'r' },
        { op: 'touch', mode: 'read' },
        { op: 'touch', mode: 'write' },
      ],
    });
    assert.deepEqual([r.signal, r.failedStep, r.page, r.results], ['SIGSEGV', 2, 0, [null, 1]]);
  });

  it('SIGSEGV on a touch after a raw munmap', async () => {
    const r = await runIsolated({
      path: path.join(dir, 'one-page'),
      map: { length: page },
      steps: [{ op: 'unmap-raw' }, { op: 'touch', mode: 'read' }],
    });
    assert.deepEqual([r.signal, r.failedStep, r.page], ['SIGSEGV', 1, 0]);
  });

  it('a plan that ends normally reports every result; a JS error reports its code and step', async () => {
    const ok = await runIsolated({
      path: path.join(dir, 'one-page'),
      map: { length: page, private: true },
      steps: [
        { op: 'write-pattern', seed: 3 },
        { op: 'check-pattern', seed: 3 },
        { op: 'touch', mode: 'read' },
      ],
    });
    assert.deepEqual([ok.exitCode, ok.signal, ok.failedStep, ok.results], [0, null, null, [null, null, 1]]);
    const bad = await runIsolated({ path: path.join(dir, 'one-page'), map: { length: page }, steps: [{ op: 'fill', seed: 1 }] });
    assert.equal(bad.exitCode, 3);
    assert.equal(bad.failedStep, 0);
    assert.match(bad.error?.message ?? '', /needs the device/);
    const missing = await runIsolated({ path: path.join(dir, 'nope'), map: { length: page }, steps: [] });
    assert.equal(missing.error?.code, 'ENOENT');
  });

  it('a step the child cannot read is its EMALFORMED error naming the place, before any step runs', async () => {
    const r = await runIsolated({
      path: path.join(dir, 'one-page'),
      map: { length: page },
      steps: [
        { op: 'touch', mode: 'read' },
        { op: 'touch', mode: 'sideways' as 'read' },
      ],
    });
    assert.deepEqual([r.exitCode, r.failedStep, r.results], [3, null, []]);
    assert.deepEqual(r.error, {
      code: 'EMALFORMED',
      message: 'the isolated plan: steps[1].mode: expected "read" or "write", got string "sideways"',
    });
  });

  it("the child's lines are checked: a result, an error, or EMALFORMED naming the line and the place", () => {
    assert.deepEqual(parseChildLine('{"result":[1,2]}', 1), { result: [1, 2] });
    assert.deepEqual(parseChildLine('{}', 1), {});
    assert.deepEqual(parseChildLine('{"error":{"code":null,"message":"x"}}', 2), { error: { code: null, message: 'x' } });
    assert.throws(() => parseChildLine('{"error":{"code":7,"message":"x"}}', 3), {
      code: 'EMALFORMED',
      message: "the isolated child's line 3: error.code: expected string or null, got number 7",
    });
    assert.throws(() => parseChildLine('Segmentation fault', 4), {
      code: 'EMALFORMED',
      message: /^the isolated child's line 4 is not JSON: /,
    });
    assert.throws(() => parseChildLine('{"result":1,"step":0}', 5), {
      code: 'EMALFORMED',
      message: 'the isolated child\'s line 5: expected {"result": ...} or {"error": {"code": ..., "message": ...}}, got object',
    });
  });

  it('a bad plan is a TypeError before any child starts', async () => {
    await assert.rejects(
      runIsolated({ path: dir, map: { length: page }, steps: [{ op: 'explode' } as never] }),
      (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
    );
  });
});
