/*
 * The session API added with the full uapi (stats, info with pages, last
 * error, free-while-mapped, read/write, reasons attached to errors) and the
 * addon calls behind it (ioctlNoArg, ioctlWithArray), on a host without
 * /dev/mmaplab:
 *
 * - against /dev/null and /dev/zero: errors look like Node's, read/write
 *   work, misuse throws instead of crashing;
 * - in child processes with an LD_PRELOAD shim that answers the mmaplab
 *   ioctls the way the header describes (compiled here from the header with
 *   the host's cc; skipped without one): the array pointer really reaches
 *   the "kernel", pages are decoded, and refusals carry the module's reason.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { failureReason, Device } from '../../lib/device';
import { ALLOCS, encode, INFO_LAYOUT, METHODS } from '../../lib/device/layout';
import { native, nativeConstants } from '../../lib/device/native';
import { assertArgError, assertDeviceError, assertSyscallError, assertTypeError } from './device-asserts';
import { useShim } from './shim';
import { parseCpuList } from '../../lib/runner/settle';

/** dist/lib/device when this file runs as dist/test/unit/device-api.test.js. */
const DEVICE_MODULE = path.resolve(__dirname, '../../lib/device');

describe('device session API on files that are not the device', () => {
  it('stats, info, lastError and freeWhileMapped on /dev/null throw ENOTTY from ioctl', () => {
    const dev = Device.open('/dev/null');
    try {
      assertSyscallError(() => dev.stats(), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.info(), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.info({ pages: true }), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.info({ pages: 8 }), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.info({ pages: 0 }), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.lastError(), 'ENOTTY', 'ioctl');
      const err = assertSyscallError(() => dev.freeWhileMapped(), 'ENOTTY', 'ioctl');
      assert.equal(failureReason(err), undefined, 'LAST_ERROR failed too: nothing attached');
      assert.ok(!('mmaplab' in err));
    } finally {
      dev.close();
    }
  });

  it('configure() accepts every allocator, method and cache, and refusals without LAST_ERROR stay bare', () => {
    const dev = Device.open('/dev/null');
    try {
      for (const alloc of Object.keys(ALLOCS) as (keyof typeof ALLOCS)[]) {
        for (const method of Object.keys(METHODS) as (keyof typeof METHODS)[]) {
          const err = assertSyscallError(() => dev.configure({ alloc, method, size: 4096, hazards: true }), 'ENOTTY', 'ioctl');
          assert.ok(!('mmaplab' in err), `${alloc}/${method}`);
        }
      }
      for (const cache of ['wb', 'wc', 'uc'] as const) {
        assertSyscallError(() => dev.configure({ alloc: 'pages_comp', method: 'remap_pfn_range', size: 4096, cache }), 'ENOTTY', 'ioctl');
      }
      assertSyscallError(
        () => dev.configure({ alloc: 'vmalloc', method: 'fault_page', size: 4096n, faultAround: true }),
        'ENOTTY',
        'ioctl',
      );
      assertSyscallError(
        () => dev.configureRaw({ alloc: 0, method: 0, size: 0n, flags: 0xffffffff, cache: 7, delay_ms: 0, period_ms: 0 }),
        'ENOTTY',
        'ioctl',
      );
      const err = assertSyscallError(() => dev.map({ length: 4096 }), 'ENODEV', 'mmap');
      assert.equal(failureReason(err), undefined);
    } finally {
      dev.close();
    }
  });

  it('bad info() and configure() options throw ERR_INVALID_ARG before any ioctl', () => {
    const dev = Device.open('/dev/null');
    try {
      for (const pages of [-1, 1.5, 65537, NaN, '3', {}, 2n] as unknown[]) {
        assertArgError(() => dev.info({ pages: pages as never }));
      }
      const opts = { alloc: 'kmalloc', method: 'remap_pfn_range', size: 4096 } as const;
      assertArgError(() => dev.configure({ ...opts, cache: 'WB' as never }));
      assertArgError(() => dev.configure({ ...opts, faultAround: 'yes' as never }));
      for (const [old, now] of [
        ['allocator', 'alloc'],
        ['technique', 'method'],
      ] as const) {
        assert.throws(() => dev.configure({ ...opts, [old]: 'kmalloc' }), {
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_VALUE',
          message: `The "${old}" argument must be spelled "${now}" (the uapi header's word). Received 'kmalloc'`,
        });
      }
      dev.close();
      for (const fn of [
        () => dev.stats(),
        () => dev.info(),
        () => dev.lastError(),
        () => dev.freeWhileMapped(),
        () => dev.read(1),
        () => dev.write(Buffer.alloc(1)),
      ]) {
        assertDeviceError(fn, 'ERR_DEVICE_CLOSED');
      }
    } finally {
      dev.close();
    }
  });
});

describe('device read() and write() (on /dev/zero and /dev/null)', () => {
  it('read() of /dev/zero returns that many zero bytes, at a position or at the file offset', () => {
    const dev = Device.open('/dev/zero');
    try {
      const a = dev.read(4096, 0);
      assert.ok(Buffer.isBuffer(a));
      assert.equal(a.length, 4096);
      assert.ok(a.every((b) => b === 0));
      assert.equal(dev.read(10).length, 10);
      assert.equal(dev.read(3, 2 ** 40).length, 3);
      assert.equal(dev.read(0, 0).length, 0);
      assert.equal(a.buffer.byteLength, 4096, 'a fresh ArrayBuffer of its own, not the Buffer pool');
    } finally {
      dev.close();
    }
  });

  it('write() returns the bytes written; /dev/null reads back empty', () => {
    const zero = Device.open('/dev/zero');
    const nul = Device.open('/dev/null');
    try {
      assert.equal(zero.write(Buffer.from('mmaplab'), 100), 7);
      assert.equal(zero.write(new Uint8Array(8192)), 8192);
      assert.equal(zero.write(new Uint8Array(0), 0), 0);
      assert.equal(nul.write(new Uint8Array(new SharedArrayBuffer(64)), 1 << 20), 64);
      const r = nul.read(100, 0);
      assert.equal(r.length, 0, 'end of file at once');
      assert.equal(nul.read(100).length, 0);
    } finally {
      zero.close();
      nul.close();
    }
  });

  it("read/write failures are Node's errors: EBADF on a read-only session, EISDIR on a directory", () => {
    const ro = Device.open('/dev/zero', { access: 'r' });
    const dir = Device.open(os.tmpdir(), { access: 'r' });
    try {
      assertSyscallError(() => ro.write(Buffer.from('x'), 0), 'EBADF', 'write');
      assert.equal(ro.read(4, 0).length, 4);
      assertSyscallError(() => dir.read(16, 0), 'EISDIR', 'read');
      assertSyscallError(() => dir.read(16), 'EISDIR', 'read');
    } finally {
      ro.close();
      dir.close();
    }
  });

  it('bad lengths, positions and data throw ERR_INVALID_ARG', () => {
    const dev = Device.open('/dev/zero');
    try {
      for (const length of [-1, 1.5, NaN, Infinity, 2 ** 53, '4', 4n] as unknown[]) {
        assertArgError(() => dev.read(length as number, 0));
      }
      for (const position of [-1, 0.5, 2 ** 53, NaN, '0', 0n, null] as unknown[]) {
        assertArgError(() => dev.read(1, position as number));
        assertArgError(() => dev.write(Buffer.alloc(1), position as number));
      }
      for (const data of ['abc', [1, 2], new Uint16Array(2), new ArrayBuffer(2), null] as unknown[]) {
        assertArgError(() => dev.write(data as Uint8Array, 0));
      }
    } finally {
      dev.close();
    }
  });
});

describe('addon ioctlNoArg and ioctlWithArray: clean errors, never a crash', () => {
  type Loose = Record<string, (...args: unknown[]) => unknown>;
  let addon: Loose;
  let fd: number;
  let INFO: number;
  let FREE: number;
  const PTR = INFO_LAYOUT.fields.pages_ptr.offset;
  const MAX = INFO_LAYOUT.fields.pages_max.offset;
  const ENTRY = 24;
  const infoStruct = (pagesMax: bigint, pagesPtr = 0n) =>
    encode(INFO_LAYOUT, {
      alloc: 0,
      method: 0,
      size: 0n,
      nr_pages: 0n,
      flags: 0,
      cache: 0,
      config_flags: 0,
      mappings: 0,
      pages_ptr: pagesPtr,
      pages_max: pagesMax,
      pages_filled: 0n,
    });
  before(() => {
    addon = native() as unknown as Loose;
    fd = native().open('/dev/null', nativeConstants().sys.O_RDWR);
    INFO = nativeConstants().ioctl.INFO;
    FREE = nativeConstants().ioctl.FREE_WHILE_MAPPED;
  });
  after(() => native().close(fd));
  const call =
    (name: string, ...args: unknown[]) =>
    () =>
      addon[name]?.(...args);

  it('ioctlNoArg: ENOTTY on /dev/null, EBADF on a bad fd; TypeError for a request with a direction', () => {
    assertSyscallError(() => native().ioctlNoArg(fd, FREE), 'ENOTTY', 'ioctl');
    assertSyscallError(() => native().ioctlNoArg(-1, FREE), 'EBADF', 'ioctl');
    assertTypeError('ioctlNoArg()', call('ioctlNoArg'));
    assertTypeError('ioctlNoArg(fd)', call('ioctlNoArg', fd));
    assertTypeError('ioctlNoArg(fd, INFO)', call('ioctlNoArg', fd, INFO));
    assertTypeError('ioctlNoArg(fd, -1)', call('ioctlNoArg', fd, -1));
    assertTypeError("ioctlNoArg('x', FREE)", call('ioctlNoArg', 'x', FREE));
    assertTypeError('ioctlNoArg(fd, 1.5)', call('ioctlNoArg', fd, 1.5));
  });

  it('ioctlWithArray: ENOTTY on /dev/null, the struct comes back with the pointer field zeroed', () => {
    const struct = infoStruct(4n, 0xdead_beefn);
    const array = new Uint8Array(4 * ENTRY).fill(0x5a);
    assertSyscallError(() => native().ioctlWithArray(fd, INFO, struct, PTR, array, MAX, ENTRY), 'ENOTTY', 'ioctl');
    const expected = infoStruct(4n);
    assert.deepEqual(struct, expected, 'only the pointer field changed: now 0, never an address');
    assert.ok(
      array.every((b) => b === 0x5a),
      'the array is left alone',
    );
    assertSyscallError(() => native().ioctlWithArray(fd, INFO, infoStruct(0n), PTR, new Uint8Array(0), MAX, ENTRY), 'ENOTTY', 'ioctl');
    assertSyscallError(() => native().ioctlWithArray(-1, INFO, infoStruct(1n), PTR, new Uint8Array(ENTRY), MAX, ENTRY), 'EBADF', 'ioctl');
    // A SharedArrayBuffer is fine: the addon checks and calls on a private copy.
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    shared.set(infoStruct(2n));
    assertSyscallError(
      () => native().ioctlWithArray(fd, INFO, shared, PTR, new Uint8Array(new SharedArrayBuffer(48)), MAX, ENTRY),
      'ENOTTY',
      'ioctl',
    );
  });

  it('ioctlWithArray: every unsafe or malformed argument is a TypeError, before the ioctl', () => {
    const s = () => infoStruct(2n);
    const a = () => new Uint8Array(2 * ENTRY);
    const cases: [string, unknown[]][] = [
      ['no args', []],
      ['6 args', [fd, INFO, s(), PTR, a(), MAX]],
      ['fd string', ['3', INFO, s(), PTR, a(), MAX, ENTRY]],
      ['request -1', [fd, -1, s(), PTR, a(), MAX, ENTRY]],
      ['request _IO', [fd, FREE, s(), PTR, a(), MAX, ENTRY]],
      ['struct ArrayBuffer', [fd, INFO, s().buffer, PTR, a(), MAX, ENTRY]],
      ['struct Uint16Array', [fd, INFO, new Uint16Array(32), PTR, a(), MAX, ENTRY]],
      ['struct short', [fd, INFO, s().subarray(0, 63), PTR, a(), MAX, ENTRY]],
      ['struct null', [fd, INFO, null, PTR, a(), MAX, ENTRY]],
      ['array DataView', [fd, INFO, s(), PTR, new DataView(new ArrayBuffer(48)), MAX, ENTRY]],
      ['array number', [fd, INFO, s(), PTR, 48, MAX, ENTRY]],
      ['array too small for pages_max', [fd, INFO, s(), PTR, new Uint8Array(2 * ENTRY - 1), MAX, ENTRY]],
      ['array empty, pages_max 2', [fd, INFO, s(), PTR, new Uint8Array(0), MAX, ENTRY]],
      ['huge pages_max', [fd, INFO, infoStruct(2n ** 64n - 1n), PTR, a(), MAX, ENTRY]],
      ['ptrOffset past the struct', [fd, INFO, s(), 57, a(), MAX, ENTRY]],
      ['ptrOffset negative', [fd, INFO, s(), -8, a(), MAX, ENTRY]],
      ['ptrOffset fractional', [fd, INFO, s(), 40.5, a(), MAX, ENTRY]],
      ['countOffset past the struct', [fd, INFO, s(), PTR, a(), 60, ENTRY]],
      ['countOffset overlaps the pointer', [fd, INFO, s(), PTR, a(), PTR + 4, ENTRY]],
      ['countOffset is the pointer', [fd, INFO, s(), PTR, a(), PTR, ENTRY]],
      ['elementSize 0', [fd, INFO, s(), PTR, a(), MAX, 0]],
      ['elementSize -24', [fd, INFO, s(), PTR, a(), MAX, -24]],
      ['elementSize string', [fd, INFO, s(), PTR, a(), MAX, '24']],
    ];
    for (const [label, args] of cases) assertTypeError(label, call('ioctlWithArray', ...args));

    // The array must not share bytes with the struct.
    const one = new Uint8Array(64 + 2 * ENTRY);
    one.set(infoStruct(2n));
    assertTypeError('array overlaps struct', call('ioctlWithArray', fd, INFO, one.subarray(0, 64), PTR, one.subarray(32), MAX, ENTRY));
    assertSyscallError(() => native().ioctlWithArray(fd, INFO, one.subarray(0, 64), PTR, one.subarray(64), MAX, ENTRY), 'ENOTTY', 'ioctl');
    // Detached buffers have length 0.
    const detached = infoStruct(0n);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    assertTypeError('struct detached', call('ioctlWithArray', fd, INFO, detached, PTR, a(), MAX, ENTRY));
    const gone = a();
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    assertTypeError('array detached', call('ioctlWithArray', fd, INFO, s(), PTR, gone, MAX, ENTRY));
  });
});

/*
 * A stand-in for the module: LD_PRELOADed into a child node, it answers
 * ioctls of magic 0xb7 from the uapi header (everything else goes to libc).
 * Two test-only requests set LAST_ERROR and report what INFO saw.
 */
const SHIM_C = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/mmaplab.h>

struct shim_seen { __u64 info_calls, last_ptr_nonzero, last_max, free_arg; };
#define SHIM_SET_LAST_ERROR _IOW(MMAPLAB_IOC_MAGIC, 0x70, struct mmaplab_last_error)
#define SHIM_GET_SEEN _IOR(MMAPLAB_IOC_MAGIC, 0x71, struct shim_seen)

static struct mmaplab_config cfg;
static int configured;
static struct mmaplab_last_error last;
static struct shim_seen seen;

static int fail(int err, __u32 reason, const char *text)
{
	memset(&last, 0, sizeof(last));
	last.error = -err;
	last.reason = reason;
	snprintf(last.text, sizeof(last.text), "%s", text);
	errno = err;
	return -1;
}

static int fault_method(__u32 m)
{
	return m == MMAPLAB_METHOD_FAULT_PAGE || m == MMAPLAB_METHOD_FAULT_PAGE_NOREF ||
	       m == MMAPLAB_METHOD_FAULT_VIRT_TO_PAGE;
}

static int configure(const struct mmaplab_config *c)
{
	if (!c->alloc || c->alloc >= MMAPLAB_ALLOC_COUNT || !c->method ||
	    c->method >= MMAPLAB_METHOD_COUNT || c->cache >= MMAPLAB_CACHE_COUNT)
		return fail(EINVAL, MMAPLAB_REASON_BAD_ENUM, "unknown alloc, method or cache");
	if (!c->size || c->size % 4096 || c->size > MMAPLAB_MAX_SIZE)
		return fail(EINVAL, MMAPLAB_REASON_BAD_SIZE, "size must be a page multiple up to 64 MiB");
	if (c->flags & ~MMAPLAB_CF_ALL)
		return fail(EINVAL, MMAPLAB_REASON_BAD_FLAGS, "unknown flag");
	if (c->method == MMAPLAB_METHOD_DMA_MMAP_COHERENT && c->alloc != MMAPLAB_ALLOC_DMA_COHERENT)
		return fail(EINVAL, MMAPLAB_REASON_COMBINATION, "dma_mmap_coherent maps only dma_coherent memory");
	if ((c->flags & MMAPLAB_CF_FAULT_AROUND) && !fault_method(c->method))
		return fail(EINVAL, MMAPLAB_REASON_FAULT_AROUND, "fault-around needs a fault method");
	cfg = *c;
	configured = 1;
	memset(&last, 0, sizeof(last));
	return 0;
}

static int info(struct mmaplab_info *in)
{
	__u64 nr = configured ? cfg.size / 4096 : 0, n;
	struct mmaplab_page_info *pages = (struct mmaplab_page_info *)(uintptr_t)in->pages_ptr;

	seen.info_calls++;
	seen.last_ptr_nonzero = in->pages_ptr != 0;
	seen.last_max = in->pages_max;
	if (in->pages_max && !pages) {
		errno = EFAULT;
		return -1;
	}
	n = nr < in->pages_max ? nr : in->pages_max;
	for (__u64 i = 0; i < n; i++) {
		pages[i].pfn = 0x12345000ULL + i;
		pages[i].flags = MMAPLAB_PAGE_COMPOUND | (i ? MMAPLAB_PAGE_TAIL : MMAPLAB_PAGE_HEAD);
		pages[i].refcount = i ? 0 : 1;
		pages[i].mapcount = i ? -1 : 1;
		pages[i].order = i ? 0 : 2;
	}
	in->alloc = configured ? cfg.alloc : 0;
	in->method = configured ? cfg.method : 0;
	in->size = configured ? cfg.size : 0;
	in->nr_pages = nr;
	in->flags = configured ? MMAPLAB_INFO_CONFIGURED : 0;
	if (configured && cfg.alloc == MMAPLAB_ALLOC_PAGES_COMP)
		in->flags |= MMAPLAB_INFO_CONTIGUOUS;
	in->cache = cfg.cache;
	in->config_flags = cfg.flags;
	in->mappings = 0;
	in->pages_filled = n;
	return 0;
}

/* The device's requests; ioctl() itself is the shim's (test/unit/shim.ts). */
static int shim_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case MMAPLAB_IOC_CONFIGURE:
		return configure(arg);
	case MMAPLAB_IOC_STATS: {
		struct mmaplab_stats s = { 1, 2, (1ULL << 60) + 3, 4, 5, 6, 7, 8, ~0ULL,
					  9, 10, 11, 12, 13, 14, 15, 16 };
		memcpy(arg, &s, sizeof(s));
		return 0;
	}
	case MMAPLAB_IOC_INFO:
		return info(arg);
	case MMAPLAB_IOC_LAST_ERROR:
		memcpy(arg, &last, sizeof(last));
		return 0;
	case MMAPLAB_IOC_FREE_WHILE_MAPPED:
		seen.free_arg = (uintptr_t)arg;
		return fail(EPERM, MMAPLAB_REASON_HAZARD_DISABLED, "hazards need allow_hazards=1");
	case SHIM_SET_LAST_ERROR:
		memcpy(&last, arg, sizeof(last));
		return 0;
	case SHIM_GET_SEEN:
		memcpy(arg, &seen, sizeof(seen));
		return 0;
	}
	errno = ENOTTY;
	return -1;
}
`;

/** Prelude of every shimmed child: the device API, helpers, a session on /dev/null. */
const CHILD_PRELUDE = `
  const assert = require('node:assert/strict');
  const { Device, failureReason } = require(${JSON.stringify(DEVICE_MODULE)});
  const layout = require(${JSON.stringify(path.join(DEVICE_MODULE, 'layout'))});
  const { native } = require(${JSON.stringify(path.join(DEVICE_MODULE, 'native'))});
  const SET_LAST = layout.ioc(layout.IOC.WRITE, 0xb7, 0x70, layout.LAST_ERROR_LAYOUT.size);
  const GET_SEEN = layout.ioc(layout.IOC.READ, 0xb7, 0x71, 32);
  const setLast = (dev, error, reason, text) =>
    native().ioctl(dev.fd, SET_LAST, layout.encode(layout.LAST_ERROR_LAYOUT, { error, reason: layout.REASONS[reason], text }));
  const seen = (dev) => {
    const b = new Uint8Array(32);
    native().ioctl(dev.fd, GET_SEEN, b);
    const v = new BigUint64Array(b.buffer);
    return { infoCalls: Number(v[0]), ptrNonzero: v[1] === 1n, max: Number(v[2]), freeArg: v[3] };
  };
  const caught = (fn) => { try { fn(); } catch (err) { return err; } assert.fail('expected an exception'); };
  const dev = Device.open('/dev/null');
`;

describe('device session API against a stand-in for the module (LD_PRELOAD shim, child processes)', function () {
  this.timeout(60_000);
  const runShimmed = useShim(SHIM_C, CHILD_PRELUDE, 'mmaplab-shim-');

  it('a refused configure() throws the same syscall error with err.mmaplab = {reason, text}', () => {
    runShimmed(`
      const err = caught(() => dev.configure({ alloc: 'vmalloc_user', method: 'dma_mmap_coherent', size: 4096 }));
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'EINVAL');
      assert.equal(err.errno, -22);
      assert.equal(err.syscall, 'ioctl');
      assert.deepEqual(err.mmaplab, { reason: 'combination', text: 'dma_mmap_coherent maps only dma_coherent memory' });
      assert.deepEqual(failureReason(err), err.mmaplab);
      assert.deepEqual(dev.lastError(), {
        errno: -22, code: 'EINVAL', reason: 'combination', text: 'dma_mmap_coherent maps only dma_coherent memory',
      });

      const checks = [
        [{ alloc: 0 }, 'bad-enum'], [{ cache: 3 }, 'bad-enum'], [{ size: 4097n }, 'bad-size'],
        [{ flags: 0x80 }, 'bad-flags'], [{ flags: 1 }, 'fault-around'],
      ];
      for (const [over, reason] of checks) {
        const e = caught(() => dev.configureRaw({ alloc: 1, method: 1, size: 4096n, flags: 0, cache: 0, delay_ms: 0, period_ms: 0, ...over }));
        assert.equal(e.code, 'EINVAL');
        assert.equal(failureReason(e).reason, reason, JSON.stringify(over, (k, v) => typeof v === 'bigint' ? String(v) : v));
      }
      const e = caught(() => dev.configure({ alloc: 'kmalloc', method: 'remap_pfn_range', size: 4096, faultAround: true }));
      assert.equal(e.mmaplab.reason, 'fault-around');

      dev.configure({ alloc: 'kmalloc', method: 'fault_page', size: 4096, faultAround: true, cache: 'uc', hazards: true });
      assert.deepEqual(dev.lastError(), { errno: 0, code: null, reason: 'none', text: '' }, 'success clears it');
    `);
  });

  it('a refused mmap() carries the reason only when LAST_ERROR names one for that very errno', () => {
    runShimmed(`
      // /dev/null has no mmap: the kernel answers ENODEV.
      setLast(dev, -19, 'range', 'offset 0x10000 is past the 64 KiB buffer');
      const err = caught(() => dev.map({ length: 4096 }));
      assert.equal(err.code, 'ENODEV');
      assert.equal(err.syscall, 'mmap');
      assert.deepEqual(err.mmaplab, { reason: 'range', text: 'offset 0x10000 is past the 64 KiB buffer' });

      setLast(dev, -22, 'range', 'stale: an earlier EINVAL');
      const stale = caught(() => dev.map({ length: 4096, private: true, prot: 'r' }));
      assert.equal(stale.code, 'ENODEV');
      assert.ok(!('mmaplab' in stale), 'a reason for another errno is not this failure\\'s');

      setLast(dev, 0, 'none', '');
      assert.ok(!('mmaplab' in caught(() => dev.map({ length: 4096 }))), 'nothing recorded, nothing attached');

      const hazard = caught(() => dev.freeWhileMapped());
      assert.equal(hazard.code, 'EPERM');
      assert.deepEqual(hazard.mmaplab, { reason: 'hazard-disabled', text: 'hazards need allow_hazards=1' });
      assert.equal(seen(dev).freeArg, 0n, 'ioctlNoArg passes 0');

      const t = 'y'.repeat(95);
      setLast(dev, -524, 'kernel', t);
      assert.deepEqual(dev.lastError(), { errno: -524, code: 'ENOTSUPP', reason: 'kernel', text: t });
    `);
  });

  it('info() decodes the session; with pages the array pointer reaches the kernel and entries come back', () => {
    runShimmed(`
      assert.deepEqual(dev.info(), {
        alloc: null, method: null, size: 0n, nrPages: 0n, configured: false, contiguous: false, freed: false,
        slab: false, unpinned: false, cache: 'wb', faultAround: false, reserved: null, splittable: false, mappings: 0,
      });
      assert.deepEqual(dev.info({ pages: true }).pages, [], 'not configured: no pages, one INFO');
      assert.equal(seen(dev).infoCalls, 2);

      dev.configure({ alloc: 'pages_comp', method: 'fault_page', size: 16384, cache: 'wc', faultAround: true });
      const base = {
        alloc: 'pages_comp', method: 'fault_page', size: 16384n, nrPages: 4n, configured: true, contiguous: true,
        freed: false, slab: false, unpinned: false, cache: 'wc', faultAround: true, reserved: null, splittable: false, mappings: 0,
      };
      assert.deepEqual(dev.info(), base);
      assert.deepEqual(seen(dev), { infoCalls: 3, ptrNonzero: false, max: 0, freeArg: 0n });

      const all = dev.info({ pages: true });
      const page = (i) => ({
        pfn: 0x12345000n + BigInt(i), compound: true, head: i === 0, tail: i !== 0, slab: false, typed: false,
        reserved: false, noStructPage: false, refcount: i ? 0 : 1, mapcount: i ? -1 : 1, order: i ? 0 : 2,
        flags: i ? 5 : 3,
      });
      assert.deepEqual(all, { ...base, pages: [0, 1, 2, 3].map(page) });
      assert.deepEqual(seen(dev), { infoCalls: 5, ptrNonzero: true, max: 4, freeArg: 0n }, 'pages: true = two INFOs');

      assert.deepEqual(dev.info({ pages: 2 }).pages, [0, 1].map(page));
      assert.deepEqual(seen(dev), { infoCalls: 6, ptrNonzero: true, max: 2, freeArg: 0n }, 'pages: n = one INFO');
      assert.deepEqual(dev.info({ pages: 100 }).pages, [0, 1, 2, 3].map(page), 'pages_filled, not pages_max');
      assert.deepEqual(dev.info({ pages: 0 }), { ...base, pages: [] });
      assert.equal(seen(dev).ptrNonzero, false);

      // The raw call: the pointer the kernel saw never lands in JS memory.
      const struct = layout.encode(layout.INFO_LAYOUT, { ...layout.decode(layout.INFO_LAYOUT, new Uint8Array(64)), pages_max: 3n });
      const array = new Uint8Array(3 * 24);
      native().ioctlWithArray(dev.fd, layout.REQUESTS.INFO, struct, 40, array, 48, 24);
      const out = layout.decode(layout.INFO_LAYOUT, struct);
      assert.equal(out.pages_ptr, 0n);
      assert.equal(out.pages_filled, 3n);
      assert.equal(layout.decode(layout.PAGE_INFO_LAYOUT, array.subarray(48)).pfn, 0x12345002n);
    `);
  });

  it('stats() returns every counter as a bigint, full 64-bit range', () => {
    runShimmed(`
      assert.deepEqual(dev.stats(), {
        faults: 1n, mapPagesCalls: 2n, pagesMapped: (1n << 60n) + 3n, vmaOpens: 4n, vmaCloses: 5n,
        readCalls: 6n, readBytes: 7n, writeCalls: 8n, writeBytes: 2n ** 64n - 1n,
        readFolioCalls: 9n, writebackCalls: 10n, pagesWritten: 11n, batches: 12n, mkwriteFaults: 13n,
        periodicRuns: 14n, flushLatencyLastNs: 15n, flushLatencyMaxNs: 16n,
      });
    `);
  });
});

describe('addon setAffinity (sched_setaffinity), in a child process so this one stays unpinned', () => {
  const inChild = (script: string): string => {
    const native = path.join(__dirname, '..', '..', 'lib', 'device', 'native.js');
    const r = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(native)}).native();\n${script}`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };

  it('pins the caller (pid 0) and another process by pid to one CPU', () => {
    const cpu = os.cpus().length - 1;
    const allowed = "require('fs').readFileSync('/proc/' + P + '/status', 'utf8').match(/Cpus_allowed_list:\\s*(\\S+)/)[1]";
    assert.equal(inChild(`a.setAffinity(0, ${cpu}); const P = 'self'; console.log(${allowed});`), String(cpu));
    const other = inChild(
      `const c = require('child_process').spawn('sleep', ['5']); a.setAffinity(c.pid, ${cpu}); const P = c.pid; ` +
        `console.log(${allowed}); c.kill();`,
    );
    assert.equal(other, String(cpu));
  });

  it('pins to a set of CPUs given as an array, and getAffinity reads the set back', () => {
    const all = os.cpus().map((_, i) => i);
    assert.equal(
      inChild(
        `a.setAffinity(0, [0]); const one = a.getAffinity(0); a.setAffinity(0, ${JSON.stringify(all)}); console.log(JSON.stringify([one, a.getAffinity(0)]));`,
      ),
      JSON.stringify([[0], all]),
    );
  });

  it('parseCpuList reads sysfs CPU lists: ranges, single CPUs, a trailing newline', () => {
    assert.deepEqual(parseCpuList('0-1,3\n'), [0, 1, 3]);
    assert.deepEqual(parseCpuList('0'), [0]);
    assert.deepEqual(parseCpuList('0,2-4'), [0, 2, 3, 4]);
    assert.deepEqual(parseCpuList(''), []);
  });

  it('visitEveryCpu() leaves the caller with the CPUs it had', () => {
    const settle = path.join(__dirname, '..', '..', 'lib', 'runner', 'settle.js');
    const got = inChild(
      `a.setAffinity(0, [0, ${os.cpus().length - 1}]); const before = a.getAffinity(0); ` +
        `require(${JSON.stringify(settle)}).visitEveryCpu(); console.log(JSON.stringify([before, a.getAffinity(0)]));`,
    );
    const [before, after] = JSON.parse(got) as [number[], number[]];
    assert.deepEqual(after, before);
  });

  it('refuses an empty set, and a set holding a bad CPU, with clean errors', () => {
    const codes = inChild(
      "const out = []; for (const c of [[], [0, -1], [0, 'x'], [1 << 20]]) " +
        "{ try { a.setAffinity(0, c); out.push('none'); } catch (e) { out.push(e.code); } } console.log(out.join(' '));",
    );
    assert.equal(codes, 'ERR_INVALID_ARG_VALUE ERR_INVALID_ARG_VALUE ERR_INVALID_ARG_TYPE ERR_OUT_OF_RANGE');
  });

  it('refuses a bad pid, a CPU past CPU_SETSIZE and a missing process with clean errors', () => {
    const codes = inChild(
      'const out = []; for (const [p, c] of [[-1, 0], [0, 1 << 20], [0, 1.5], [2 ** 31 - 2, 0]]) ' +
        "{ try { a.setAffinity(p, c); out.push('none'); } catch (e) { out.push(e.code); } } console.log(out.join(' '));",
    );
    assert.equal(codes, 'ERR_INVALID_ARG_VALUE ERR_OUT_OF_RANGE ERR_INVALID_ARG_VALUE ESRCH');
  });
});
