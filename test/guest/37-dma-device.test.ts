/**
 * Guest suite, module loaded WITHOUT allow_hazards: a device doing DMA into
 * and out of a buffer userspace maps (QEMU's edu device): coherent memory
 * (dma_device), the streaming API's (dma_pages, synced around each
 * transfer), and the driver's own pages of every other allocator, mapped
 * for the device around each transfer (dma_map_sgtable). The device reads
 * what userspace wrote, and a change userspace makes is what the device
 * then reads; the device writes, and userspace and the kernel read it.
 * The kernel log stays clean.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Device, isSyscallError } from '../../lib/device';
import type { AllocName, MethodName } from '../../lib/device/layout';
import { HAZARD_ALLOCS, MAPPED_DMA_ALLOCS } from '../../lib/device/support';
import { moduleWindow } from './module-window';

const PAGE = 4096;
const DRIVER_DIR = '/sys/bus/pci/drivers/mmaplab';

function code(err: unknown): string | undefined {
  return isSyscallError(err) ? err.code : (err as { code?: string }).code;
}

describe(`dma_device: DMA by QEMU's edu into a mapped buffer on ${os.release()}`, function () {
  this.timeout(60_000);
  const kernel = moduleWindow();

  it("the module drives the edu device, with the 32-bit DMA mask it measured (the VM sets edu's dma_mask to 32 bits)", function () {
    const bound = fs.readdirSync(DRIVER_DIR).filter((e) => /^[0-9a-f]{4}:/.test(e));
    const read = (d: string, f: string): string => fs.readFileSync(`/sys/bus/pci/devices/${d}/${f}`, 'utf8').trim();
    const edu = bound.find((d) => `${read(d, 'vendor')}:${read(d, 'device')}` === '0x1234:0x11e8');
    assert.ok(edu, `bound: ${bound.join(' ')}`);
    assert.deepEqual([read(edu, 'dma_mask_bits'), read(edu, 'consistent_dma_mask_bits')], ['32', '32']);
  });

  for (const [alloc, method] of [
    ['dma_device', 'dma_mmap_coherent'],
    ['dma_device', 'remap_pfn_range'],
    ['dma_device', 'vmf_insert_pfn'],
    ['dma_pages', 'dma_mmap_pages'],
    ['dma_pages', 'remap_pfn_range'],
    ['dma_pages', 'vmf_insert_mixed'],
  ] as const) {
    it(`${alloc} + ${method}: the device reads what userspace wrote, and userspace reads what the device wrote`, function () {
      using d = Device.open();
      d.configure({ alloc, method, size: 4 * PAGE });
      const pages = d.info({ pages: true }).pages ?? [];
      assert.ok(
        pages.every((p) => p.noStructPage || p.pfn < 0x100000n),
        'below 4 GiB: the device reaches 32 bits',
      );
      using m = d.map();
      m.writePattern(21);
      const seen = d.deviceDma('to-device', 21);
      assert.deepEqual([seen.ok, seen.transfers, seen.segments], [true, 16, 1], 'four transfers a page, each half in and out');
      // a word userspace changes is the first the device sees differently
      new Uint32Array(m.buffer)[(2 * PAGE) / 4 + 3] = 0xfeedface;
      const changed = d.deviceDma('to-device', 21);
      assert.deepEqual([changed.ok, changed.mismatch, changed.found], [false, BigInt(2 * PAGE + 12), 0xfeedface]);
      d.deviceDma('from-device', 22);
      assert.equal(m.checkPattern(22), null, 'userspace reads what the device wrote');
      assert.equal(d.verify(22).ok, true, 'and so does the kernel');
    });
  }

  // Streaming DMA of the driver's own pages while userspace maps them: one
  // method per allocator, a different one each where the allocator allows.
  const MAPPED: ReadonlyArray<readonly [AllocName, MethodName]> = [
    ['vmalloc_user', 'remap_vmalloc_range'],
    ['vmalloc', 'vm_insert_page'],
    ['kmalloc', 'remap_pfn_range'],
    ['pages_array', 'vm_insert_pages'],
    ['pages_comp', 'fault_page'],
    ['pages_split', 'vmf_insert_mixed'],
    ['shmem', 'fault_page'],
  ];
  it('every allocator with its own struct pages is mapped for the device here, but the hazard allocator', function () {
    const safe = MAPPED_DMA_ALLOCS.filter((a) => !HAZARD_ALLOCS.includes(a));
    assert.deepEqual(MAPPED.map(([a]) => a).sort(), [...safe].sort());
  });
  for (const [alloc, method] of MAPPED) {
    it(`${alloc} + ${method}: its pages mapped for the device around each transfer (one DMA segment per run of adjacent pages); the device reads what userspace wrote, and userspace reads what the device wrote`, function () {
      using d = Device.open();
      d.configure({ alloc, method, size: 2 * PAGE });
      const pages = d.info({ pages: true }).pages ?? [];
      const runs = pages.filter((p, i) => i === 0 || p.pfn !== (pages[i - 1]?.pfn ?? 0n) + 1n).length;
      using m = d.map();
      m.writePattern(31);
      const seen = d.deviceDma('to-device', 31);
      assert.deepEqual([seen.ok, seen.transfers, seen.segments], [true, 8, runs], `pfns ${pages.map((p) => p.pfn.toString(16)).join(' ')}`);
      const wrote = d.deviceDma('from-device', 32);
      assert.equal(wrote.segments, runs);
      assert.equal(m.checkPattern(32), null, 'userspace reads what the device wrote');
      assert.equal(d.verify(32).ok, true, 'and so does the kernel');
    });
  }

  it('dma_alloc_pages gives one block without __GFP_COMP: its tail pages have refcount 0, and vm_insert_pages is refused by the kernel', function () {
    using d = Device.open();
    d.configure({ alloc: 'dma_pages', method: 'vm_insert_pages', size: 4 * PAGE });
    const pages = d.info({ pages: true }).pages ?? [];
    assert.deepEqual(
      pages.map((p) => [p.compound, p.refcount]),
      [
        [false, 1],
        [false, 0],
        [false, 0],
        [false, 0],
      ],
    );
    assert.deepEqual(
      pages.map((p) => p.pfn - (pages[0]?.pfn ?? 0n)),
      [0n, 1n, 2n, 3n],
      'contiguous',
    );
    assert.throws(
      () => d.map(),
      (e: unknown) => code(e) === 'EINVAL',
    );
    assert.equal(d.lastError().reason, 'kernel');
    assert.throws(
      () => d.configure({ alloc: 'dma_pages', method: 'fault_page', size: 4 * PAGE }),
      (e: unknown) => code(e) === 'ERR_HAZARD_NOT_REQUESTED',
      'a fault handler handing out the tail pages is a hazard',
    );
  });

  it("DEVICE_DMA of memory with no struct page that is not the device's is refused (combination), of shmem pages given back (unpinned), and of more than 64 pages (bad-size); a direction must be named", function () {
    {
      using d = Device.open();
      d.configure({ alloc: 'dma_coherent', method: 'dma_mmap_coherent', size: PAGE });
      assert.throws(
        () => d.deviceDma('to-device', 1),
        (e: unknown) => code(e) === 'EINVAL',
      );
      assert.equal(d.lastError().reason, 'combination');
      assert.throws(
        () => d.deviceDma('sideways' as never, 1),
        (e: unknown) => code(e) === 'ERR_INVALID_ARG_VALUE',
      );
    }
    {
      using d = Device.open();
      d.configure({ alloc: 'shmem', method: 'fault_page', size: PAGE });
      d.unpinPages();
      assert.throws(
        () => d.deviceDma('from-device', 1),
        (e: unknown) => code(e) === 'EBUSY',
      );
      assert.equal(d.lastError().reason, 'unpinned');
    }
    // 0.4 s a page with the session held: at most 64 pages a call.
    using d = Device.open();
    d.configure({ alloc: 'vmalloc', method: 'vm_insert_page', size: 65 * PAGE });
    assert.throws(
      () => d.deviceDma('to-device', 1),
      (e: unknown) => code(e) === 'EINVAL',
    );
    assert.equal(d.lastError().reason, 'bad-size');
  });

  it('leaves the kernel log clean and the module holding nothing', function () {
    using d = Device.open();
    assert.deepEqual(d.counters(), { buffers: 0, pages: 0, sessions: 1 });
    kernel.assertClean();
  });
});
