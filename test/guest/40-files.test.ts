/**
 * Guest suite, module loaded WITHOUT allow_hazards: the kernel side of the
 * file-backed methods. page_cache (the device as a file in the page
 * cache, its buffer the backing store) and deferred_io (fbdev's deferred
 * I/O into a separate store): data written through a shared mapping
 * reaches the store by the path the test chose (fsync, msync(MS_SYNC),
 * FLUSH, the periodic work, sync(2), the flusher's expiry, the deferred
 * flush, the last close), with the per-page times and counters the module
 * reports; closed sessions' stores stay readable by id; bad requests are
 * refused with an errno and a reason; and none of it makes the kernel
 * complain.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Device, failureReason, type Mapping, type ReasonName } from '../../lib/device';
import type { StoreSnapshot } from '../../lib/device/store';
import { classifyWindow } from '../../lib/kmsg';
import { loadModule } from '../../lib/runner/module';
import { koPath } from './ko-path';
import { code, deviceMaps } from './device-proc';
import { moduleWindow } from './module-window';
import { at } from '../../lib/util/at';

const PAGE = 4096;

/** `fn` fails with errno `errno` and, when given, the module's reason `reason`. */
function refused(fn: () => unknown, errno: string, reason?: ReasonName): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal(code(err), errno, `expected ${errno}, got ${String(err)}`);
    if (reason !== undefined) assert.equal(failureReason(err)?.reason, reason, `reason of ${String(err)}`);
    return true;
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): bigint => process.hrtime.bigint();

/** The paths of the first `n` pages of a store. */
function paths(st: StoreSnapshot, n = st.pages.length): (string | null)[] {
  return st.pages.slice(0, n).map((p) => p.path);
}

/** Every page arrived by `path`, after its first write, before the store was read. */
function assertArrived(st: StoreSnapshot, pages: number, path: string): void {
  assert.deepEqual(paths(st, pages), Array(pages).fill(path), 'the path of every page');
  for (const [i, p] of st.pages.slice(0, pages).entries()) {
    assert.ok(p.arrivals >= 1, `page ${i} arrived`);
    assert.ok(
      p.arrivedNs !== null && p.arrivedNs <= st.nowNs,
      `page ${i}: arrived before the read (arrived ${p.arrivedNs} ns, read ${st.nowNs} ns, CLOCK_MONOTONIC)`,
    );
    assert.ok(p.dirtiedNs !== null && p.dirtiedNs <= p.arrivedNs, `page ${i}: first write known and before the arrival`);
  }
}

/** The mapping's bytes equal the store's. */
function assertSameBytes(m: Mapping, st: StoreSnapshot): void {
  const mine = Buffer.from(m.buffer, 0, m.length);
  assert.equal(st.data.length, m.length, 'the store read covers the mapping');
  assert.ok(mine.equals(st.data), 'the store holds exactly what was written through the mapping');
}

/** Set a vm sysctl for the duration of `fn`. */
async function withSysctls(values: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, fs.readFileSync(`/proc/sys/vm/${k}`, 'utf8').trim()]));
  try {
    for (const [k, v] of Object.entries(values)) fs.writeFileSync(`/proc/sys/vm/${k}`, v);
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) fs.writeFileSync(`/proc/sys/vm/${k}`, v);
  }
}

describe(`file-backed methods in the module on ${os.release()}`, function () {
  this.timeout(120_000);
  const kernel = moduleWindow();

  afterEach(function () {
    assert.deepEqual(deviceMaps(), [], 'no mapping of the device is left behind');
  });

  describe('page_cache', function () {
    it('fsync: the store equals what was written through the shared mapping, every page by path fsync, read()/write() unused', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 16 * PAGE });
      using m = dev.map();
      const t0 = now();
      m.writePattern(0x4001);
      dev.fsync();
      const st = dev.store({ data: true });
      assertArrived(st, 16, 'fsync');
      assertSameBytes(m, st);
      assert.equal(dev.verify(0x4001).ok, true, 'VERIFY checks the store');
      for (const p of st.pages) assert.ok((p.dirtiedNs as bigint) >= t0, 'dirtied after the test began (same clock)');
      assert.equal(st.open, true);
      assert.equal(st.size, BigInt(16 * PAGE));

      const s = dev.stats();
      assert.equal(s.readCalls, 0n);
      assert.equal(s.writeCalls, 0n);
      assert.equal(s.readFolioCalls, 16n, 'each page was read from the store once, on its first fault');
      assert.equal(s.mkwriteFaults, 16n, 'one page_mkwrite per page');
      assert.equal(s.pagesWritten, 16n);
      assert.ok(s.batches >= 1n && s.batches <= s.writebackCalls, `batches ${s.batches}, writeback calls ${s.writebackCalls}`);
      assert.equal(st.batches, s.batches, 'the store counts the batches the session sent');
      assert.ok(s.flushLatencyLastNs > 0n && s.flushLatencyMaxNs >= s.flushLatencyLastNs);
      console.log(
        `      page_cache fsync: ${s.batches} batch(es), latency last ${s.flushLatencyLastNs / 1000n} us, max ${s.flushLatencyMaxNs / 1000n} us`,
      );
    });

    it('msync(MS_SYNC) reaches ->fsync; a second write to a written-back page faults into page_mkwrite again', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
      using m = dev.map();
      m.writePattern(0x4002);
      m.msync();
      let st = dev.store({ data: true });
      assertArrived(st, 4, 'fsync');
      assertSameBytes(m, st);
      const before = dev.stats().mkwriteFaults;

      new Uint32Array(m.buffer)[0] = 0xdeadbeef;
      assert.equal(dev.stats().mkwriteFaults, before + 1n, 'writeback write-protected the page');
      m.msync();
      st = dev.store({ data: 4 });
      assert.equal(st.data.readUInt32LE(0), 0xdeadbeef);
      assert.equal(st.pages[0]?.arrivals, 2);
      assert.equal(st.pages[1]?.arrivals, 1, 'clean pages are not sent again');
    });

    it('FLUSH sends the dirty pages by path flush and waits for them', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 8 * PAGE });
      using m = dev.map();
      m.writePattern(0x4003);
      dev.flush();
      const st = dev.store({ data: true });
      assertArrived(st, 8, 'flush');
      assertSameBytes(m, st);
    });

    it('FILL reaches the mapping through ->read_folio; FILL over dirty pages is refused (EBUSY, dirty)', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 8 * PAGE });
      dev.fill(0x4004);
      using m = dev.map();
      assert.equal(m.checkPattern(0x4004), null, 'the mapping reads the store');
      assert.equal(dev.stats().readFolioCalls, 8n);
      dev.fill(0x4005);
      assert.equal(m.checkPattern(0x4005), null, 'FILL dropped the cached pages, the mapping re-read them');
      assert.equal(dev.stats().mkwriteFaults, 0n, 'reads never dirty a page');

      new Uint8Array(m.buffer)[0] = 1;
      refused(() => dev.fill(0x4006), 'EBUSY');
      assert.equal(dev.lastError().reason, 'dirty');
      assert.equal(dev.verify(0x4005).ok, true, 'the refused FILL left the store alone');
      dev.flush();
      dev.fill(0x4006);
      assert.equal(m.checkPattern(0x4006), null);
    });

    it('MAP_PRIVATE: reads share the page cache, writes stay private and never reach the store', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
      dev.fill(0x4007);
      using priv = dev.map({ private: true });
      assert.equal(priv.checkPattern(0x4007), null);
      priv.writePattern(0x4008);
      dev.flush();
      assert.equal(dev.verify(0x4007).ok, true);
      assert.equal(dev.stats().mkwriteFaults, 0n, 'copy-on-write, not page_mkwrite');
    });

    it('syncPeriodMs: the periodic work writes the dirty pages back by path periodic', async function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE, syncPeriodMs: 50 });
      using m = dev.map();
      m.writePattern(0x4009);
      let st = dev.store();
      for (let i = 0; i < 100 && st.pages.some((p) => p.arrivals === 0); i++) {
        await sleep(50);
        st = dev.store();
      }
      assertArrived(st, 4, 'periodic');
      const s = dev.stats();
      assert.ok(s.periodicRuns >= 1n, `periodic runs ${s.periodicRuns}`);
      assert.equal(dev.verify(0x4009).ok, true);
      console.log(`      page_cache periodic 50 ms: latency last ${s.flushLatencyLastNs / 1000n} us after ${s.periodicRuns} run(s)`);
    });

    it('a snapshot is read after every arrival it records, while the periodic work keeps writing pages back', async function () {
      this.timeout(20_000);
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE, syncPeriodMs: 10 });
      using m = dev.map();
      const bytes = new Uint8Array(m.buffer, 0, m.length);
      let snapshots = 0;
      let arrivals = 0;
      const late: string[] = [];
      const until = Date.now() + 1500;
      for (let i = 0; Date.now() < until; i++) {
        // Dirty a page again (it was cleaned by the last write-back), then read.
        bytes[(i % 4) * PAGE] = i & 0xff;
        const st = dev.store();
        snapshots++;
        arrivals = st.pages.reduce((n, p) => n + p.arrivals, 0);
        for (const [k, p] of st.pages.entries()) {
          if (p.arrivedNs !== null && p.arrivedNs > st.nowNs) late.push(`page ${k}: arrived ${p.arrivedNs - st.nowNs} ns after the read`);
        }
        if (i % 64 === 63) await sleep(1);
      }
      assert.ok(arrivals >= 20, `pages kept arriving during the reads (${arrivals} arrivals)`);
      assert.deepEqual(late.slice(0, 5), [], `${late.length} of ${snapshots} snapshots`);
      console.log(`      page_cache store snapshots: ${snapshots} read while ${arrivals} arrivals happened`);
    });

    it('sync(2) writes the pages back (path sync, or the flusher woken by sync first)', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
      using m = dev.map();
      m.writePattern(0x400a);
      const r = spawnSync('sync');
      assert.equal(r.status, 0, String(r.error ?? r.stderr));
      const st = dev.store();
      for (const p of st.pages) assert.ok(p.path === 'sync' || p.path === 'writeback', `path ${p.path}`);
      assert.equal(dev.verify(0x400a).ok, true);
      console.log(`      page_cache sync(2): paths ${[...new Set(paths(st))].join(', ')}`);
    });

    it("the flusher's expiry writes them back without any call (path expiry, dirty_expire 1 s)", async function () {
      await withSysctls({ dirty_expire_centisecs: '100', dirty_writeback_centisecs: '50' }, async () => {
        using dev = Device.open();
        dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
        using m = dev.map();
        m.writePattern(0x400b);
        let st = dev.store();
        for (let i = 0; i < 100 && st.pages.some((p) => p.arrivals === 0); i++) {
          await sleep(100);
          st = dev.store();
        }
        assertArrived(st, 4, 'expiry');
        const lat = dev.stats().flushLatencyMaxNs;
        assert.ok(lat >= 900_000_000n, `not before dirty_expire (${lat} ns)`);
        console.log(`      page_cache expiry (1 s): latency max ${lat / 1_000_000n} ms`);
      });
    });

    it('dirty pages survive compaction (migration) and clean ones eviction (MADV_PAGEOUT, drop_caches): the data comes back from the store', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 64 * PAGE });
      using m = dev.map();
      m.writePattern(0x4010);
      fs.writeFileSync('/proc/sys/vm/compact_memory', '1');
      assert.equal(m.checkPattern(0x4010), null, 'the dirty pages kept their data wherever they went');
      dev.fsync();
      assert.equal(dev.verify(0x4010).ok, true);
      const read0 = dev.stats().readFolioCalls;
      m.advise('pageout');
      fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
      m.advise('dontneed');
      assert.equal(m.checkPattern(0x4010), null, 'the evicted pages were read back from the store');
      const reread = dev.stats().readFolioCalls - read0;
      assert.ok(reread > 0n, 'some pages were evicted and read again');
      console.log(`      page_cache eviction: ${reread} of 64 pages read back from the store`);
    });

    it("fork: a child's writes through the inherited shared mapping reach the store", function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 8 * PAGE });
      using m = dev.map();
      m.touch('read');
      assert.deepEqual(m.forkWrite(0x4011), { exitCode: 0, signal: null });
      dev.fsync();
      assert.equal(dev.verify(0x4011).ok, true);
      assert.equal(dev.stats().mkwriteFaults, 8n);
    });

    it('the last close sends what is still dirty (path release); the store stays readable by id, closed', function () {
      let id: bigint;
      let expected: Buffer;
      {
        const dev = Device.open();
        dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
        id = dev.store().id;
        assert.ok(id > 0n);
        const m = dev.map();
        m.writePattern(0x400c);
        expected = Buffer.from(m.buffer.slice(0));
        m.unmap();
        assert.equal(
          dev.store().pages.every((p) => p.arrivals === 0),
          true,
          'munmap alone sends nothing',
        );
        dev.close();
      }
      using other = Device.open();
      const st = other.store({ id, data: true });
      assert.equal(st.id, id);
      assert.equal(st.open, false);
      assertArrived(st, 4, 'release');
      assert.ok(st.data.equals(expected), 'the store holds what the closed session wrote');
    });

    it('a reconfigure ends the store like a close; reconfiguring while mapped is refused (EBUSY, mapped)', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE });
      const id = dev.store().id;
      {
        using m = dev.map();
        m.writePattern(0x400d);
        refused(() => dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE }), 'EBUSY', 'mapped');
      }
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 2 * PAGE });
      assert.notEqual(dev.store().id, id, 'a new store');
      const old = dev.store({ id });
      assert.equal(old.open, false);
      assertArrived(old, 4, 'release');
      dev.configure({ alloc: 'vmalloc_user', method: 'fault_page', size: PAGE });
      refused(() => dev.store(), 'EINVAL', 'combination');
    });
  });

  describe('deferred_io', function () {
    it('writes reach the store delay_ms after the first one, several writes to a page in the window are one batch', async function () {
      const deferMs = 300;
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc_user', method: 'deferred_io', size: 4 * PAGE, deferMs });
      using m = dev.map();
      const words = new Uint32Array(m.buffer);
      const t0 = now();
      words[0] = 0x11111111;
      words[1] = 0x22222222;
      words[2] = 0x33333333;
      const early = dev.store();
      const elapsed = now() - t0;
      if (elapsed < BigInt(deferMs) * 1_000_000n) {
        assert.equal(early.pages[0]?.arrivals, 0, `nothing sent ${elapsed / 1000n} us after the write`);
      }
      await sleep(deferMs / 2);
      words[3] = 0x44444444;
      let st = dev.store({ data: 16 });
      for (let i = 0; i < 100 && st.pages[0]?.arrivals === 0; i++) {
        await sleep(50);
        st = dev.store({ data: 16 });
      }
      assert.deepEqual(paths(st), ['deferred', 'none', 'none', 'none']);
      assert.equal(st.pages[0]?.arrivals, 1);
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => st.data.readUInt32LE(4 * i)),
        [0x11111111, 0x22222222, 0x33333333, 0x44444444],
      );
      const s = dev.stats();
      assert.equal(s.mkwriteFaults, 1n, 'one page_mkwrite: the page stayed writable in the window');
      assert.equal(s.batches, 1n, 'one batch');
      assert.equal(s.writebackCalls, 1n);
      assert.equal(s.pagesWritten, 1n);
      const p = at(st.pages, 0, 'the stored page');
      const lat = (p.arrivedNs as bigint) - (p.dirtiedNs as bigint);
      assert.equal(s.flushLatencyLastNs, lat);
      assert.ok(lat >= BigInt(deferMs - 5) * 1_000_000n, `not flushed before the delay (${lat} ns)`);
      console.log(`      deferred_io ${deferMs} ms: latency ${lat / 1000n} us, ${s.batches} batch, ${s.mkwriteFaults} mkwrite`);

      words[8] = 0x55555555;
      assert.equal(dev.stats().mkwriteFaults, 2n, 'the flush write-protected the page: the next write faults again');
      dev.flush();
      st = dev.store({ data: 64 });
      assert.equal(st.pages[0]?.path, 'flush');
      assert.equal(st.pages[0]?.arrivals, 2);
      assert.equal(st.data.readUInt32LE(32), 0x55555555);
      assert.equal(dev.stats().batches, 2n);
    });

    it('pages written in one window go in one batch; fsync and msync(MS_SYNC) flush at once (path fsync)', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'deferred_io', size: 8 * PAGE, deferMs: 10_000 });
      using m = dev.map();
      m.writePattern(0x4101);
      assert.equal(dev.stats().mkwriteFaults, 8n);
      dev.fsync();
      let st = dev.store({ data: true });
      assertArrived(st, 8, 'fsync');
      assertSameBytes(m, st);
      assert.equal(dev.verify(0x4101).ok, true, 'VERIFY checks the store');
      assert.equal(dev.stats().batches, 1n, 'eight pages, one batch');

      m.writePattern(0x4102);
      m.msync();
      st = dev.store({ data: true });
      assertArrived(st, 8, 'fsync');
      assertSameBytes(m, st);
      assert.equal(dev.stats().batches, 2n);
      assert.equal(dev.stats().mkwriteFaults, 16n);
    });

    it('FILL writes the screen and the store; the mapping shows it', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc_user', method: 'deferred_io', size: 4 * PAGE });
      dev.fill(0x4103);
      assert.equal(dev.verify(0x4103).ok, true);
      using m = dev.map();
      assert.equal(m.checkPattern(0x4103), null);
      assert.equal(dev.stats().faults, 4n);
    });

    it('the last close flushes (path release) and the store is readable by id afterwards', function () {
      let id: bigint;
      let expected: Buffer;
      {
        const dev = Device.open();
        dev.configure({ alloc: 'vmalloc', method: 'deferred_io', size: 4 * PAGE, deferMs: 10_000 });
        id = dev.store().id;
        const m = dev.map();
        m.writePattern(0x4104);
        expected = Buffer.from(m.buffer.slice(0));
        m.unmap();
        dev.close();
      }
      using other = Device.open();
      const st = other.store({ id, data: true });
      assert.equal(st.open, false);
      assertArrived(st, 4, 'release');
      assert.ok(st.data.equals(expected));
      assert.equal(st.batches, 1n);
    });

    it("fork: a child's writes through the inherited mapping are flushed too", function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc_user', method: 'deferred_io', size: 8 * PAGE, deferMs: 10_000 });
      using m = dev.map();
      assert.deepEqual(m.forkWrite(0x4105), { exitCode: 0, signal: null });
      dev.flush();
      const st = dev.store();
      assertArrived(st, 8, 'flush');
      assert.equal(dev.verify(0x4105).ok, true);
    });

    it('MAP_PRIVATE is refused (EINVAL, private)', function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'deferred_io', size: 4 * PAGE });
      refused(() => dev.map({ private: true }), 'EINVAL', 'private');
    });
  });

  describe('stores kept by id', function () {
    it('the module keeps the last 8 closed stores: an older id is gone (ENOENT, no-store)', function () {
      const ids: bigint[] = [];
      for (let i = 0; i < 9; i++) {
        const dev = Device.open();
        dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: PAGE });
        ids.push(dev.store().id);
        dev.close();
      }
      using dev = Device.open();
      refused(() => dev.store({ id: at(ids, 0, 'the oldest store id') }), 'ENOENT', 'no-store');
      for (const id of ids.slice(1)) assert.equal(dev.store({ id }).open, false);
      refused(() => dev.store({ id: 1n << 60n }), 'ENOENT', 'no-store');
    });
  });

  describe('refusals', function () {
    it('delay_ms, period_ms: wrong method or out of range is EINVAL, reason timing', function () {
      using dev = Device.open();
      const pc = { alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE } as const;
      const dio = { alloc: 'vmalloc', method: 'deferred_io', size: 4 * PAGE } as const;
      refused(() => dev.configure({ ...pc, deferMs: 100 }), 'EINVAL', 'timing');
      refused(() => dev.configure({ ...dio, syncPeriodMs: 100 }), 'EINVAL', 'timing');
      refused(() => dev.configure({ alloc: 'vmalloc_user', method: 'fault_page', size: PAGE, deferMs: 1 }), 'EINVAL', 'timing');
      refused(() => dev.configure({ ...pc, syncPeriodMs: 9 }), 'EINVAL', 'timing');
      refused(() => dev.configure({ ...pc, syncPeriodMs: 60_001 }), 'EINVAL', 'timing');
      refused(() => dev.configure({ ...dio, deferMs: 10_001 }), 'EINVAL', 'timing');
      dev.configure({ ...pc, syncPeriodMs: 60_000 });
      dev.configure({ ...dio, deferMs: 10_000 });
    });

    it('page_cache takes vmalloc only (EINVAL, combination); WB only; no fault-around flag', function () {
      using dev = Device.open();
      for (const alloc of ['kmalloc', 'vmalloc_user', 'pages_array'] as const) {
        refused(() => dev.configure({ alloc, method: 'page_cache', size: 4 * PAGE }), 'EINVAL', 'combination');
      }
      refused(() => dev.configure({ alloc: 'pages_comp', method: 'deferred_io', size: 4 * PAGE }), 'EINVAL', 'combination');
      refused(() => dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE, cache: 'wc' }), 'EINVAL', 'cache');
      refused(() => dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: 4 * PAGE, faultAround: true }), 'EINVAL', 'fault-around');
    });

    it('STORE and FLUSH of a method without a store are EINVAL (combination); fsync of one stays EINVAL', function () {
      using dev = Device.open();
      refused(() => dev.store(), 'ENODEV', 'not-configured');
      dev.configure({ alloc: 'vmalloc_user', method: 'fault_page', size: PAGE });
      refused(() => dev.store(), 'EINVAL', 'combination');
      refused(() => dev.flush(), 'EINVAL', 'combination');
      assert.throws(
        () => dev.fsync(),
        (e: unknown) => code(e) === 'EINVAL',
      );
    });

    it('deferred_io_keep_mapping is a hazard: refused without allow_hazards (EPERM)', function () {
      using dev = Device.open();
      refused(
        () => dev.configure({ alloc: 'vmalloc', method: 'deferred_io_keep_mapping', size: 4 * PAGE, hazards: true }),
        'EPERM',
        'hazard-disabled',
      );
    });
  });

  it('the file-backed tests left no complaint in the log and no taint beyond O/E', function () {
    kernel.assertClean();
  });

  it('the module unloads with its internal filesystem and kept stores', function () {
    loadModule(koPath(), {});
    const w = kernel.since();
    assert.deepEqual(classifyWindow(w.records), [], w.records.map((r) => r.message).join('\n'));
  });
});
