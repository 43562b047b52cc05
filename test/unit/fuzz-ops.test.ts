/**
 * lib/fuzz/ops: the generator is pure and seeded (same seed, same
 * operations; a prefix does not depend on how many are asked for; other
 * seeds differ; known seeds keep their sequences), every operation it
 * makes is valid, the vocabulary is all used, and an operation log
 * survives JSON both ways.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { support } from '../../lib/device/support';
import {
  describeOp,
  describePlace,
  formatOpList,
  type FuzzOp,
  generate,
  generateOps,
  HAZARD_PAIRS,
  isHazardConfigure,
  MAP_SLOTS,
  PLACE_ALIGNS,
  PLACE_KINDS,
  SAFE_PAIRS,
  SESSION_SLOTS,
  slotSlice,
} from '../../lib/fuzz/ops';
import { checkOp, OP_NAMES, parseOps } from '../../lib/fuzz/ops-schema';
import { MmaplabError } from '../../lib/util/errors';
import { at } from '../../lib/util/at';

const isFuzzOpError = (e: unknown): boolean => e instanceof MmaplabError && e.code === 'EFUZZOP';

describe('fuzz operations', () => {
  describe('the generator', () => {
    it('the same seed gives the same operations', () => {
      for (const seed of [0, 1, 777, 0xffff_ffff]) {
        assert.deepEqual(generateOps(seed, 3000), generateOps(seed, 3000), `seed ${seed}`);
      }
    });

    it('a prefix does not depend on how many operations are taken (a run is its seed and its length)', () => {
      const long = generateOps(4242, 5000);
      assert.deepEqual(generateOps(4242, 1234), long.slice(0, 1234));
      const gen = generate(4242);
      const pulled: FuzzOp[] = [];
      for (let i = 0; i < 500; i++) pulled.push(gen.next().value);
      assert.deepEqual(pulled, long.slice(0, 500));
    });

    it('a seed names its sequence for good: printed seeds replay (digests of known sequences)', () => {
      const digest = (seed: number): string =>
        createHash('sha256')
          .update(JSON.stringify(generateOps(seed, 3000)))
          .digest('hex');
      assert.equal(digest(0), '9a247aeabfa9733683f40dacf0e0ed9fda9478134c3d8cc01a0bcf70e5095503');
      assert.equal(digest(1234), '40e6399978c7d246a5c8ab4dfd7e520908acc316085667af5eb5e0b7796f65e3');
      assert.equal(digest(20_241_124), '777c9de93c9852783608e906fd4c4df8bfaf57939e5e897ce4a446446907cbb7');
      assert.equal(digest(0xffff_ffff), '3642fe30821a62023248e65ee646d7478ffea153e192f543aca9ff4faf50181f');
    });

    it('different seeds give different sequences', () => {
      const seen = new Set<string>();
      for (let seed = 0; seed < 50; seed++) seen.add(JSON.stringify(generateOps(seed, 100)));
      assert.equal(seen.size, 50);
      assert.notDeepEqual(generateOps(1, 200), generateOps(2, 200));
    });

    it('starts by opening a session, and every operation it makes is valid', () => {
      const ops = generateOps(31337, 20_000);
      assert.equal(ops[0]?.op, 'open');
      ops.forEach((op, i) => assert.deepEqual(checkOp(op, `operation ${i}`), op));
    });

    it('uses the whole vocabulary, with touches, mmaps and CONFIGUREs the most common', () => {
      const ops = generateOps(5, 20_000);
      const count = new Map<string, number>();
      for (const op of ops) count.set(op.op, (count.get(op.op) ?? 0) + 1);
      for (const name of OP_NAMES) assert.ok((count.get(name) ?? 0) > 0, `${name} is generated`);
      for (const name of ['touch', 'mmap', 'configure']) assert.ok((count.get(name) ?? 0) > ops.length / 20, name);
    });

    it('configures safe pairs mostly, and sends every kind of bad input and hazard pairs raw', () => {
      const configs = generateOps(8, 30_000).filter((o): o is Extract<FuzzOp, { op: 'configure' }> => o.op === 'configure');
      const hazards = configs.filter(isHazardConfigure);
      assert.ok(hazards.length > configs.length / 30, `hazard pairs: ${hazards.length} of ${configs.length}`);
      assert.ok(hazards.length < configs.length / 5);
      const names = new Set(hazards.map((c) => `${c.alloc}/${c.method}`));
      assert.ok(names.size >= HAZARD_PAIRS.length / 2, `${names.size} distinct hazard pairs`);
      assert.ok(
        configs.some((c) => c.size === '0'),
        'size 0',
      );
      assert.ok(
        configs.some((c) => BigInt(c.size) % 4096n !== 0n),
        'an unaligned size',
      );
      assert.ok(
        configs.some((c) => BigInt(c.size) === 64n * 1024n * 1024n),
        'max_size',
      );
      assert.ok(
        configs.some((c) => BigInt(c.size) === 64n * 1024n * 1024n + 4096n),
        'max_size + a page',
      );
      assert.ok(
        configs.some((c) => c.alloc === 0 || c.alloc > 8),
        'an unknown allocator',
      );
      assert.ok(
        configs.some((c) => c.method === 0 || c.method > 14),
        'an unknown method',
      );
      assert.ok(
        configs.some((c) => c.cache > 2),
        'an unknown cache attribute',
      );
      assert.ok(
        configs.some((c) => c.flags > 1),
        'an unknown flag',
      );
      assert.ok(
        configs.some((c) => c.flags === 1),
        'fault-around',
      );
      assert.ok(configs.some((c) => c.cache === 1) && configs.some((c) => c.cache === 2), 'WC and UC');
      assert.ok(configs.some((c) => c.delayMs > 0) && configs.some((c) => c.periodMs > 0), 'deferred-I/O delay, periodic sync');
    });

    it('exercises ranges past the buffer, unaligned lengths, every protection and private mappings', () => {
      const maps = generateOps(9, 20_000).filter((o): o is Extract<FuzzOp, { op: 'mmap' }> => o.op === 'mmap');
      assert.ok(
        maps.some((m) => m.length % 4096 !== 0),
        'unaligned length',
      );
      assert.ok(
        maps.some((m) => m.offset >= 1 << 30),
        'offset far past any buffer',
      );
      for (const prot of ['none', 'r', 'rw'] as const)
        assert.ok(
          maps.some((m) => m.prot === prot),
          prot,
        );
      assert.ok(maps.some((m) => m.private) && maps.some((m) => m.populate));
    });

    it('places mmaps: kernel-chosen mostly, aligned hints and MAP_FIXED_NOREPLACE at 4 KiB, 2 MiB and 1 GiB, and MAP_FIXED over a live slot', () => {
      const maps = generateOps(12, 20_000).filter((o): o is Extract<FuzzOp, { op: 'mmap' }> => o.op === 'mmap');
      const placed = maps.filter((m) => m.place !== undefined);
      assert.ok(placed.length > maps.length / 3 && placed.length < (maps.length * 2) / 3, `${placed.length} of ${maps.length}`);
      for (const at of PLACE_KINDS)
        assert.ok(
          placed.some((m) => m.place?.at === at),
          at,
        );
      for (const align of PLACE_ALIGNS) {
        assert.ok(
          placed.some((m) => m.place?.at === 'hint' && m.place.align === align),
          `hint at ${align}`,
        );
      }
      const fixed = placed.filter((m) => m.place?.at === 'fixed');
      assert.ok(
        fixed.some((m) => m.place?.at === 'fixed' && m.place.over === m.m),
        'over its own slot',
      );
      assert.ok(
        fixed.some((m) => m.place?.at === 'fixed' && m.place.over !== m.m),
        'over another slot',
      );
      assert.ok(
        fixed.some((m) => m.length % 4096 !== 0),
        'MAP_FIXED with an unaligned length',
      );
      assert.ok(
        generateOps(12, 20_000).some((o) => o.op === 'madvise' && o.advice === 'hugepage'),
        'MADV_HUGEPAGE',
      );
    });

    it('a placement is checked like every field: kinds, alignments, slots', () => {
      const op: FuzzOp = { op: 'mmap', s: 0, m: 1, offset: 0, length: 4096, prot: 'rw', private: false, populate: false };
      assert.deepEqual(checkOp(op), op, 'no place: the kernel chooses');
      for (const place of [
        { at: 'hint', align: 2 << 20 },
        { at: 'fixed', over: 7, page: 3 },
        { at: 'noreplace-over', over: 0, page: 0 },
      ]) {
        assert.deepEqual(checkOp({ ...op, place }), { ...op, place });
      }
      const refused: Array<[unknown, string]> = [
        [null, 'place: expected object, got null'],
        ['hint', 'place: expected object, got string "hint"'],
        [{ at: 'hint', align: 8192 }, 'place.align: expected one of 4096, 2097152, 1073741824, got number 8192'],
        [
          { at: 'anywhere', align: 4096 },
          'place.at: expected one of "hint", "noreplace", "hint-over", "noreplace-over", "fixed", got string "anywhere"',
        ],
        [{ at: 'fixed', over: MAP_SLOTS, page: 0 }, `place.over: expected a number ≤ ${MAP_SLOTS - 1}, got number ${MAP_SLOTS}`],
        [{ at: 'fixed', over: 0, page: -1 }, 'place.page: expected a number ≥ 0, got number -1'],
        [{ at: 'hint', align: 4096, over: 0 }, 'place.over: expected no such field, got number 0'],
        [{ at: 'fixed', over: 0 }, 'place.page: expected number, got nothing'],
      ];
      for (const [place, says] of refused) {
        assert.throws(() => checkOp({ ...op, place }), { code: 'EFUZZOP', message: `operation: ${says}` }, JSON.stringify(place));
      }
      assert.equal(
        describeOp({ ...op, place: { at: 'hint', align: 1 << 30 } }),
        's0 mmap -> m1 offset=0 length=4096 prot=rw private=false populate=false place=hint/1G',
      );
      assert.equal(describePlace({ at: 'fixed', over: 3, page: 1 }), 'fixed:m3+p1');
    });

    it("the safe and hazard pairs are the support table's", () => {
      for (const [a, t] of SAFE_PAIRS) assert.equal(support(a, t), 'safe');
      for (const [a, t] of HAZARD_PAIRS) assert.equal(support(a, t), 'hazard');
      assert.ok(SAFE_PAIRS.length > 30 && HAZARD_PAIRS.length > 10);
    });
  });

  describe('slotSlice (a first guess of the minimiser)', () => {
    it('keeps the operations on the slots the last one depends on, through mmap and read/write via a mapping', () => {
      const ops: FuzzOp[] = [
        { op: 'open', s: 0, access: 'rw' },
        { op: 'open', s: 1, access: 'rw' },
        { op: 'open', s: 2, access: 'rw' },
        { op: 'mmap', s: 1, m: 4, offset: 0, length: 4096, prot: 'rw', private: false, populate: false },
        { op: 'stats', s: 0 },
        { op: 'read', s: 2, position: null, length: 10, into: 4 },
        { op: 'mmap', s: 0, m: 6, offset: 0, length: 4096, prot: 'rw', private: false, populate: false },
        { op: 'munmap', m: 6 },
        { op: 'touch', m: 4, mode: 'read', page: 0, pages: 1, seed: 0 },
      ];
      assert.deepEqual(slotSlice(ops), [ops[1], ops[2], ops[3], ops[5], ops[8]]);
      // MAP_FIXED over slot 4 from session 0 links session 0 and slot 4.
      const placed: FuzzOp = {
        op: 'mmap',
        s: 0,
        m: 7,
        offset: 0,
        length: 4096,
        prot: 'rw',
        private: false,
        populate: false,
        place: { at: 'fixed', over: 4, page: 0 },
      };
      const last: FuzzOp = { op: 'touch', m: 4, mode: 'read', page: 0, pages: 1, seed: 0 };
      assert.deepEqual(slotSlice([...ops.slice(0, 8), placed, last]), [
        ops[0],
        ops[1],
        ops[2],
        ops[3],
        ops[4],
        ops[5],
        ops[6],
        ops[7],
        placed,
        last,
      ]);
      assert.deepEqual(slotSlice([]), []);
      const open = at(ops, 0, 'the open');
      assert.deepEqual(slotSlice([open]), [open]);
    });
  });

  describe('the operation log', () => {
    it('survives JSON both ways, compact or one operation per line', () => {
      const ops = generateOps(2024, 3000);
      assert.deepEqual(parseOps(JSON.stringify(ops)), ops);
      assert.deepEqual(parseOps(formatOpList(ops)), ops);
      assert.equal(formatOpList(ops).split('\n').length, ops.length + 3);
      assert.deepEqual(parseOps(formatOpList([])), []);
    });

    it('keeps u64 values exact as decimal strings', () => {
      const op: FuzzOp = {
        op: 'configure',
        s: 0,
        alloc: 1,
        method: 1,
        size: '18446744073709551615',
        flags: 0,
        cache: 0,
        delayMs: 0,
        periodMs: 0,
      };
      assert.deepEqual(parseOps(JSON.stringify([op])), [op]);
      const u64 = 'operation: size: expected a u64 in decimal, as a string';
      assert.throws(() => checkOp({ ...op, size: '18446744073709551616' }), {
        code: 'EFUZZOP',
        message: `${u64}, got string "18446744073709551616"`,
      });
      assert.throws(() => checkOp({ ...op, size: '-1' }), { code: 'EFUZZOP', message: `${u64}, got string "-1"` });
      assert.throws(() => checkOp({ ...op, size: 4096 }), {
        code: 'EFUZZOP',
        message: 'operation: size: expected string, got number 4096',
      });
    });

    it('refuses what is not an operation: unknown op or field, slot out of range, wrong type', () => {
      assert.throws(
        () => parseOps('{'),
        (e: unknown) => isFuzzOpError(e) && /^operation list is not JSON: /.test((e as Error).message),
      );
      assert.throws(() => parseOps('{}', 'x-ops.json'), { code: 'EFUZZOP', message: 'x-ops.json: expected array, got object' });
      assert.throws(() => checkOp(null), { code: 'EFUZZOP', message: 'operation: expected object, got null' });
      assert.throws(() => checkOp({ op: 'reboot' }), {
        code: 'EFUZZOP',
        message:
          'operation: op: expected one of "open", "close", "configure", "mmap", "touch", "munmap", "munmap-range", "mremap", ... (33 in all), got string "reboot"',
      });
      assert.throws(() => checkOp({ op: 'close', s: SESSION_SLOTS }), {
        message: `operation: s: expected a number ≤ ${SESSION_SLOTS - 1}, got number ${SESSION_SLOTS}`,
      });
      assert.throws(() => checkOp({ op: 'munmap', m: MAP_SLOTS }), {
        message: `operation: m: expected a number ≤ ${MAP_SLOTS - 1}, got number ${MAP_SLOTS}`,
      });
      assert.throws(() => checkOp({ op: 'munmap', m: 0, extra: 1 }), { message: 'operation: extra: expected no such field, got number 1' });
      assert.throws(() => checkOp({ op: 'open', s: 0, access: 'w' }), {
        message: 'operation: access: expected "r" or "rw", got string "w"',
      });
      assert.throws(() => checkOp({ op: 'info', s: 0, pages: -1 }), { message: 'operation: pages: expected a number ≥ 0, got number -1' });
      assert.throws(() => parseOps('[{"op":"close","s":0},{"op":"close"}]'), {
        code: 'EFUZZOP',
        message: 'operation list: [1].s: expected number, got nothing',
        details: { path: '[1].s' },
      });
      // A malformed operation deep in a replay: the path leads to it.
      const replay = [
        ...generateOps(5, 40),
        {
          op: 'mmap',
          s: 1,
          m: 2,
          offset: 0,
          length: 4096,
          prot: 'rw',
          private: false,
          populate: false,
          place: { at: 'fixed', over: 2, page: '1' },
        },
      ];
      assert.throws(() => parseOps(JSON.stringify(replay), 'seed5-minimal.json'), {
        code: 'EFUZZOP',
        message: 'seed5-minimal.json: [40].place.page: expected number, got string "1"',
      });
      assert.deepEqual(checkOp({ op: 'info', s: 1, pages: 'all' }), { op: 'info', s: 1, pages: 'all' });
      assert.deepEqual(checkOp({ op: 'read', s: 1, position: null, length: 0, into: null }), {
        op: 'read',
        s: 1,
        position: null,
        length: 0,
        into: null,
      });
    });

    it('describes each operation in one line', () => {
      for (const op of generateOps(3, 2000)) {
        const line = describeOp(op);
        assert.ok(!line.includes('\n') && line.includes(op.op), line);
      }
      assert.equal(
        describeOp({ op: 'configure', s: 2, alloc: 4, method: 2, size: '16384', flags: 1, cache: 0, delayMs: 0, periodMs: 0 }),
        's2 configure vmalloc/fault_page size=16384 cache=wb flags=1',
      );
      assert.equal(
        describeOp({ op: 'configure', s: 0, alloc: 99, method: 0, size: '0', flags: 0, cache: 7, delayMs: 0, periodMs: 0 }),
        's0 configure alloc#99/method#0 size=0 cache=cache#7',
      );
    });
  });
});
