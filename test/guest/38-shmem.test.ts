/**
 * Guest suite, module loaded WITHOUT allow_hazards: the shmem allocator, a
 * shmem object's pages held by the driver as GPU drivers hold their buffer
 * objects' (shmem_file_setup + shmem_read_mapping_page), mapped by every
 * method that takes them. The data crosses both ways; the pages are the
 * page cache's (the object's two references, counted as Shmem while the
 * session holds them, gone with it); page-based methods count the
 * mapping on those pages and pfn-based ones do not; what the pages cannot
 * be given (a reserved mark, WC, a fault handler without a reference) is
 * refused. Given back to the object (SHMEM_PIN 0, as a GPU driver's
 * shrinker does), the pages go to swap when their cgroup is made to
 * reclaim, and pinned again they come back with the data intact; while
 * pinned, the same reclaim leaves them where they are. The kernel log
 * stays clean.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Device, failureReason, isSyscallError } from '../../lib/device';
import { PFN_METHODS, support } from '../../lib/device/support';
import { CELL_METHODS, type CellMethodName } from '../../lib/experiments/types';
import { chargedTo, memoryCgroup, reclaim } from '../../lib/util/cgroup';
import { activeSwaps, withScratchSwap } from '../../lib/util/swap';
import { moduleWindow } from './module-window';

const PAGE = 4096;
const MIB = 1024 * 1024;

function code(err: unknown): string | undefined {
  return isSyscallError(err) ? err.code : (err as { code?: string }).code;
}

/** The Shmem line of /proc/meminfo, in bytes. */
function shmemBytes(): number {
  const m = /^Shmem:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  if (!m) throw new Error('/proc/meminfo has no Shmem line');
  return Number(m[1]) * 1024;
}

/** A shmem buffer charged to a fresh cgroup, written by the kernel (seed 51) and by userspace (seed 52) through a fault_page mapping. */
function withChargedObject(size: number, fn: (d: Device, cgroup: string) => void): void {
  const cgroup = memoryCgroup('shmem-swap');
  try {
    using d = Device.open();
    chargedTo(cgroup, () => d.configure({ alloc: 'shmem', method: 'fault_page', size }));
    d.fill(51);
    {
      using m = d.map();
      assert.equal(m.checkPattern(51), null);
      m.writePattern(52);
    }
    fn(d, cgroup);
  } finally {
    fs.rmdirSync(cgroup);
  }
}

const SHMEM_METHODS: readonly CellMethodName[] = CELL_METHODS.filter((m) => support('shmem', m) === 'safe');
const isPfnBased = (m: CellMethodName): boolean => (PFN_METHODS as readonly string[]).includes(m);

describe(`shmem: a shmem object's pages mapped to userspace on ${os.release()}`, function () {
  this.timeout(60_000);
  const kernel = moduleWindow();

  it('is taken by the page-based methods that take a reference and by the pfn-based ones', function () {
    assert.deepEqual([...SHMEM_METHODS].sort(), [
      'fault_page',
      'remap_pfn_range',
      'vm_insert_page',
      'vm_insert_pages',
      'vm_map_pages',
      'vmf_insert_mixed',
      'vmf_insert_pfn',
      'vmf_insert_pfn_prot',
    ]);
  });

  for (const method of SHMEM_METHODS) {
    const counted = isPfnBased(method) ? 'not counted on the pages (special PTEs)' : 'counted on the pages';
    it(`${method}: the data crosses both ways; the pages are the page cache's, the mapping ${counted}`, function () {
      using d = Device.open();
      d.configure({ alloc: 'shmem', method, size: 4 * PAGE });
      const held = d.info({ pages: true }).pages ?? [];
      assert.equal(held.length, 4);
      for (const p of held) {
        assert.deepEqual([p.noStructPage, p.compound, p.reserved], [false, false, false], `pfn ${p.pfn}: an order-0 page`);
        assert.ok(p.refcount >= 2, `pfn ${p.pfn}: the page cache's reference and the buffer's (refcount ${p.refcount})`);
        assert.equal(p.mapcount, 0, `pfn ${p.pfn}: mapped nowhere yet`);
      }
      d.fill(41);
      using m = d.map();
      assert.equal(m.checkPattern(41), null, 'userspace reads what the kernel wrote');
      m.writePattern(42);
      assert.equal(d.verify(42).ok, true, 'the kernel reads what userspace wrote');
      const mapped = d.info({ pages: true }).pages ?? [];
      assert.deepEqual(
        mapped.map((p) => p.pfn),
        held.map((p) => p.pfn),
        'the same pages',
      );
      assert.deepEqual(
        mapped.map((p) => p.mapcount),
        held.map(() => (isPfnBased(method) ? 0 : 1)),
      );
    });
  }

  it('the object is Shmem in /proc/meminfo while the session holds it, and is gone with the session', function () {
    const size = 8 * MIB;
    const before = shmemBytes();
    {
      using d = Device.open();
      d.configure({ alloc: 'shmem', method: 'vm_insert_pages', size });
      using m = d.map();
      m.writePattern(43);
      const held = shmemBytes() - before;
      // the counter folds per-CPU deltas in batches: a page or two each CPU may still be unfolded
      assert.ok(held >= size - MIB && held <= size + MIB, `Shmem grew by ${held} bytes for an ${size}-byte object`);
      assert.equal(d.verify(43).ok, true);
    }
    const after = shmemBytes() - before;
    assert.ok(Math.abs(after) <= MIB, `Shmem is back within 1 MiB of where it was (${after} bytes)`);
  });

  it("refuses what a shmem object's pages cannot be given: a reserved mark, WC, a fault handler without a reference", function () {
    using d = Device.open();
    const refusals: [string, () => void, string][] = [
      ['reserved', () => d.configure({ alloc: 'shmem', method: 'vm_insert_pages', size: PAGE, reserved: 'cleared' }), 'combination'],
      ['wc', () => d.configure({ alloc: 'shmem', method: 'remap_pfn_range', size: PAGE, cache: 'wc' }), 'cache'],
      ['noref', () => d.configure({ alloc: 'shmem', method: 'fault_page_noref', size: PAGE }), 'combination'],
    ];
    for (const [what, attempt, reason] of refusals) {
      assert.throws(attempt, (e: unknown) => code(e) === 'EINVAL' && failureReason(e)?.reason === reason, what);
    }
  });

  describe('given back to the object, as a shrinker does', function () {
    const SIZE = MIB;

    it("unpinning is refused while mapped and for memory that is not a shmem object's; an unpinned buffer is not used until pinned", function () {
      using d = Device.open();
      d.configure({ alloc: 'shmem', method: 'vm_insert_pages', size: 4 * PAGE });
      {
        using _m = d.map();
        assert.throws(
          () => d.unpinPages(),
          (e: unknown) => code(e) === 'EBUSY',
        );
        assert.equal(d.lastError().reason, 'mapped');
      }
      d.unpinPages();
      assert.equal(d.info().unpinned, true);
      assert.deepEqual(d.info({ pages: true }).pages ?? [], [], 'no pages to describe');
      for (const [what, attempt] of [
        ['map', () => d.map()],
        ['verify', () => d.verify(1)],
        ['fill', () => d.fill(1)],
      ] as const) {
        assert.throws(attempt, (e: unknown) => code(e) === 'EBUSY', what);
        assert.equal(d.lastError().reason, 'unpinned', what);
      }
      assert.deepEqual(d.pinPages(), { fromSwap: 0 }, 'nothing made the object swap');
      assert.equal(d.info().unpinned, false);
      using other = Device.open();
      other.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: PAGE });
      assert.throws(
        () => other.unpinPages(),
        (e: unknown) => code(e) === 'EINVAL',
      );
      assert.equal(other.lastError().reason, 'combination');
    });

    it('unpinned, the pages go to swap when their cgroup reclaims, and come back intact when pinned', function () {
      this.timeout(120_000);
      withScratchSwap((swap) => {
        assert.ok(activeSwaps().includes(swap), `${swap} in /proc/swaps`);
        withChargedObject(SIZE, (d, cgroup) => {
          d.unpinPages();
          reclaim(cgroup, 2 * SIZE);
          const { fromSwap } = d.pinPages();
          assert.ok(fromSwap > 0, `${fromSwap} of ${SIZE / PAGE} pages came back from swap`);
          console.log(`# ${fromSwap} of ${SIZE / PAGE} pages came back from swap`);
          assert.equal(d.verify(52).ok, true, 'the kernel reads what userspace wrote before the swap-out');
          using m = d.map();
          assert.equal(m.checkPattern(52), null, 'and so does userspace, through a new mapping');
        });
      });
    });

    it('pinned, the same reclaim leaves every page where it is', function () {
      this.timeout(120_000);
      withScratchSwap(() => {
        withChargedObject(SIZE, (d, cgroup) => {
          const before = (d.info({ pages: true }).pages ?? []).map((p) => p.pfn);
          reclaim(cgroup, 2 * SIZE);
          const after = (d.info({ pages: true }).pages ?? []).map((p) => p.pfn);
          assert.deepEqual(after, before, 'the same pages');
          assert.equal(d.verify(52).ok, true);
        });
      });
    });
  });

  it('leaves the kernel log clean and the module holding nothing', function () {
    using d = Device.open();
    assert.deepEqual(d.counters(), { buffers: 0, pages: 0, sessions: 1 });
    kernel.assertClean();
  });
});
