/**
 * lib/fuzz/exec on the host, without the module: the addon's forkTouch
 * (a forked child touches an inherited mapping; its death is the answer),
 * and the executor run over a generated sequence against /dev/zero, which
 * takes every operation (ioctls answer ENOTTY there): no operation may be a
 * bug of the fuzzer, and the slots behave as ops.ts says.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapAnonymous, mapFd, patternWord } from '../../lib/device';
import { native, nativeConstants } from '../../lib/device/native';
import { FuzzTarget } from '../../lib/fuzz/exec';
import { generateOps, MAP_SLOTS } from '../../lib/fuzz/ops';

describe('fuzz executor (host, /dev/zero)', function () {
  this.timeout(120_000);
  let page: number;

  before(() => {
    page = nativeConstants().PAGE_SIZE;
  });

  describe('forkTouch', () => {
    it("a child reads, writes back or writes the pattern; the parent sees a shared mapping's writes", () => {
      const map = mapAnonymous(4 * page);
      try {
        assert.deepEqual(native().forkTouch(map.buffer, 0, 4 * page, 0, 0, 0), { exitCode: 0, signal: null, page: 3 });
        assert.deepEqual(native().forkTouch(map.buffer, page, page, 1, 0, 0), { exitCode: 0, signal: null, page: 0 });
        const r = native().forkTouch(map.buffer, 2 * page, 2 * page, 2, 77, 5);
        assert.deepEqual(r, { exitCode: 0, signal: null, page: 1 });
        const words = new Uint32Array(map.buffer, 2 * page, (2 * page) / 4);
        assert.equal(words[0], patternWord(77, 5));
        assert.equal(words[words.length - 1], patternWord(77, 5 + words.length - 1));
        assert.equal(new Uint32Array(map.buffer, 0, 1)[0], 0, 'outside the range nothing changed');
      } finally {
        map.unmap();
      }
    });

    it('SIGSEGV for a write to a read-only mapping, with the page it died on', () => {
      const map = mapAnonymous(3 * page);
      try {
        map.protect('r', { offset: 2 * page, length: page });
        const r = native().forkTouch(map.buffer, 0, 3 * page, 1, 0, 0);
        assert.equal(r.signal, os.constants.signals.SIGSEGV);
        assert.equal(r.exitCode, null);
        assert.equal(r.page, 2);
      } finally {
        map.unmap();
      }
    });

    it('SIGBUS past the end of a file, and the caller lives on', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fuzz-'));
      const file = path.join(dir, 'short');
      fs.writeFileSync(file, Buffer.alloc(page));
      const fd = native().open(file, nativeConstants().sys.O_RDWR);
      try {
        const map = mapFd(fd, 3 * page);
        const r = native().forkTouch(map.buffer, 0, 3 * page, 0, 0, 0);
        assert.equal(r.signal, os.constants.signals.SIGBUS);
        assert.equal(r.page, 1);
        map.unmap();
      } finally {
        native().close(fd);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('checks its arguments before forking', () => {
      const map = mapAnonymous(page);
      try {
        assert.throws(() => native().forkTouch(map.buffer, 0, 2 * page, 0, 0, 0), RangeError);
        assert.throws(() => native().forkTouch(map.buffer, 1, 1, 0, 0, 0), RangeError);
        assert.throws(() => native().forkTouch(map.buffer, 0, page, 3 as 0, 0, 0), TypeError);
        assert.deepEqual(native().forkTouch(map.buffer, 0, 0, 0, 0, 0), { exitCode: 0, signal: null, page: null });
      } finally {
        map.unmap();
      }
    });
  });

  describe('FuzzTarget', () => {
    it('runs 3000 generated operations without a fuzzer error; every outcome is a result', async () => {
      const target = new FuzzTarget('/dev/zero');
      const counts = new Map<string, number>();
      try {
        for (const op of generateOps(11, 3000)) {
          const o = await target.run(op);
          assert.match(
            o.result,
            /^(ok|skip|started|E[A-Z0-9]+|SIG[A-Z0-9]+|exit:\d+|fork:E[A-Z0-9]+)$/,
            `${JSON.stringify(op)} -> ${o.result}`,
          );
          counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
        }
      } finally {
        await target.closeAll();
      }
      assert.ok((counts.get('ok') ?? 0) > 1000, `ok: ${counts.get('ok')}`);
      assert.ok((counts.get('ENOTTY') ?? 0) > 100, '/dev/zero has no ioctls');
      assert.equal(counts.get('violation'), undefined);
      assert.ok(target.sessions.every((s) => s === null) && target.maps.every((m) => m === null));
    });

    it('-async operations run on the thread pool; closing or unmapping waits for them; endings reach onSettled', async () => {
      const settled: string[] = [];
      const target = new FuzzTarget('/dev/zero', (op, o) => settled.push(`${op.op} ${o.result}`));
      try {
        await target.run({ op: 'open', s: 0, access: 'rw' });
        await target.run({ op: 'mmap', s: 0, m: 0, offset: 0, length: 4 * page, prot: 'rw', private: false, populate: false });
        assert.deepEqual(await target.run({ op: 'fill-async', s: 0, seed: 1 }), { result: 'started' });
        assert.deepEqual(await target.run({ op: 'verify-async', s: 0, seed: 1 }), { result: 'started' });
        assert.deepEqual(await target.run({ op: 'msync-async', m: 0, mode: 'sync' }), { result: 'started' });
        // Without waiting, close would be refused (ERR_DEVICE_BUSY) and munmap EBUSY.
        assert.equal((await target.run({ op: 'munmap', m: 0 })).result, 'ok');
        assert.equal((await target.run({ op: 'close', s: 0 })).result, 'ok');
        await target.settle();
        assert.equal(target.running, 0);
        assert.deepEqual(settled.sort(), ['fill-async ENOTTY', 'msync-async ok', 'verify-async ENOTTY']);
      } finally {
        await target.closeAll();
      }
    });

    it('an operation on an empty slot is skipped', () => {
      const target = new FuzzTarget('/dev/zero');
      assert.deepEqual(target.runNow({ op: 'close', s: 0 }), { result: 'skip' });
      assert.deepEqual(target.runNow({ op: 'fill', s: 1, seed: 1, reserved: 0 }), { result: 'skip' });
      assert.deepEqual(target.runNow({ op: 'touch', m: 3, mode: 'read', page: 0, pages: 1, seed: 0 }), { result: 'skip' });
      assert.deepEqual(target.runNow({ op: 'munmap', m: 0 }), { result: 'skip' });
    });

    it('slots: mmap fills one, a partial munmap puts the tail in a free one, close keeps mappings', async () => {
      const target = new FuzzTarget('/dev/zero');
      try {
        assert.equal(target.runNow({ op: 'open', s: 0, access: 'rw' }).result, 'ok');
        const mmap = { op: 'mmap', s: 0, m: 2, offset: 0, length: 4 * page, prot: 'rw', private: false, populate: false } as const;
        assert.equal(target.runNow(mmap).result, 'ok');
        assert.equal(target.maps[2]?.length, 4 * page);
        assert.equal(target.runNow({ op: 'munmap-range', m: 2, page: 1, pages: 2 }).result, 'ok');
        assert.equal(target.maps[2]?.length, page);
        assert.equal(target.maps[0]?.length, page, 'the tail went to the first free slot');
        assert.equal(target.runNow({ op: 'close', s: 0 }).result, 'ok');
        assert.equal(target.runNow({ op: 'touch', m: 0, mode: 'write', page: 0, pages: 1, seed: 0 }).result, 'ok');
        assert.equal(target.runNow({ op: 'mprotect', m: 0, prot: 'r', page: 0, pages: 0 }).result, 'ok');
        assert.equal(target.runNow({ op: 'touch', m: 0, mode: 'write', page: 0, pages: 1, seed: 0 }).result, 'SIGSEGV');
        assert.equal(target.runNow({ op: 'madvise', m: 2, advice: 'dontfork', page: 0, pages: 0 }).result, 'ok');
        assert.equal(target.runNow({ op: 'read', s: 0, position: null, length: 10, into: 2 }).result, 'skip', 'the session is closed');
        assert.equal(target.runNow({ op: 'mremap', m: 2, length: 100, mayMove: true }).result, 'ok');
        assert.equal(target.maps[2]?.length, 100);
      } finally {
        await target.closeAll();
      }
      assert.equal(target.maps.length, MAP_SLOTS);
    });

    it('placement: aligned hints and MAP_FIXED_NOREPLACE land aligned; over a taken address the hint moves and noreplace is EEXIST', async () => {
      const target = new FuzzTarget('/dev/zero');
      const base = { op: 'mmap', s: 0, offset: 0, length: 3 * page, prot: 'rw', private: false, populate: false } as const;
      try {
        target.runNow({ op: 'open', s: 0, access: 'rw' });
        for (const [m, align] of [
          [0, 2 << 20],
          [1, 1 << 30],
          [2, page],
        ] as const) {
          assert.equal(target.runNow({ ...base, m, place: { at: 'hint', align } }).result, 'ok');
          assert.equal((target.maps[m]?.address ?? 1) % align, 0, `hint aligned to ${align}`);
        }
        assert.equal(target.runNow({ ...base, m: 3, place: { at: 'noreplace', align: 2 << 20 } }).result, 'ok');
        assert.equal((target.maps[3]?.address ?? 1) % (2 << 20), 0);
        const slot0 = target.maps[0];
        assert.ok(slot0, 'slot 0 is mapped');
        const taken = slot0.address + page;
        assert.equal(target.runNow({ ...base, m: 4, place: { at: 'hint-over', over: 0, page: 1 } }).result, 'ok');
        assert.notEqual(target.maps[4]?.address, taken, 'the kernel chose elsewhere');
        assert.equal(target.runNow({ ...base, m: 5, place: { at: 'noreplace-over', over: 0, page: 4 } }).result, 'EEXIST');
        assert.equal(target.maps[0]?.unmapped, false, 'what was there is untouched');
        assert.deepEqual(
          target.runNow({ ...base, m: 5, place: { at: 'fixed', over: 6, page: 0 } }),
          { result: 'skip' },
          'an empty slot to go over',
        );
      } finally {
        await target.closeAll();
      }
    });

    it('placement: MAP_FIXED over part of a mapping; the new one in m, the part before stays in `over`, the part after goes to a free slot', async () => {
      const target = new FuzzTarget('/dev/zero');
      const base = { op: 'mmap', s: 0, offset: 0, prot: 'rw', private: false, populate: false } as const;
      try {
        target.runNow({ op: 'open', s: 0, access: 'rw' });
        assert.equal(target.runNow({ ...base, m: 2, length: 5 * page }).result, 'ok');
        const slot2 = target.maps[2];
        assert.ok(slot2, 'slot 2 is mapped');
        const start = slot2.address;
        // Page 1 of 5 and on, 2 pages long (and 1 byte short): pages 1-2 replaced.
        assert.equal(target.runNow({ ...base, m: 6, length: 2 * page - 1, place: { at: 'fixed', over: 2, page: 6 } }).result, 'ok');
        assert.deepEqual([target.maps[6]?.address, target.maps[6]?.length], [start + page, 2 * page - 1]);
        assert.deepEqual([target.maps[2]?.address, target.maps[2]?.length], [start, page]);
        assert.deepEqual([target.maps[0]?.address, target.maps[0]?.length], [start + 3 * page, 2 * page]);
        // Over its own slot, longer than what is left: cut to the end of that mapping.
        assert.equal(target.runNow({ ...base, m: 0, length: 9 * page, place: { at: 'fixed', over: 0, page: 0 } }).result, 'ok');
        assert.deepEqual([target.maps[0]?.address, target.maps[0]?.length], [start + 3 * page, 2 * page]);
        // A MAP_FIXED that fails before unmapping leaves the old mapping there (a read-only session, MAP_SHARED rw: EACCES).
        target.runNow({ op: 'open', s: 1, access: 'r' });
        assert.equal(target.runNow({ ...base, s: 1, m: 7, length: page, place: { at: 'fixed', over: 6, page: 0 } }).result, 'EACCES');
        assert.equal(target.maps[6]?.unmapped, false);
      } finally {
        await target.closeAll();
      }
      assert.ok(target.maps.every((m) => m === null));
    });

    it('read(2) into a mapping the kernel cannot write is EFAULT, not a signal', async () => {
      const target = new FuzzTarget('/dev/zero');
      try {
        target.runNow({ op: 'open', s: 1, access: 'rw' });
        target.runNow({ op: 'mmap', s: 1, m: 0, offset: 0, length: page, prot: 'none', private: true, populate: false });
        target.runNow({ op: 'open', s: 2, access: 'rw' });
        assert.equal(target.runNow({ op: 'read', s: 2, position: 0, length: page, into: 0 }).result, 'EFAULT');
      } finally {
        await target.closeAll();
      }
    });
  });
});
