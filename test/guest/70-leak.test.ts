/**
 * Guest suite, module loaded WITHOUT allow_hazards: the leak check
 * (lib/harden/leak.ts). Every safe allocator x method pair (the
 * file-backed methods and every hazard left out) runs open -> configure
 * -> map -> touch(write) every page -> unmap -> close many times; the
 * module's counters must come back exactly, MemFree and Slab within a
 * small bound.
 *
 * Short form: 300 cycles of 16 KiB and 20 of 2 MiB per pair. Long form
 * (MMAPLAB_HARDEN_LONG=1, `mmaplab test-guest --long`): 10,000 cycles of
 * 16 KiB per method, shared out between its allocators (remap_pfn_range
 * takes seven, 1,429 cycles each; dma_mmap_coherent one, 10,000), and 100
 * of 2 MiB per pair. Under TCG the long form took 2 min 21 s on 6.1 (55 s
 * for the 80,000 cycles of 16 KiB, 76 s for the 2 MiB ones).
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { safePairs } from '../../lib/bench/configs';
import { Device } from '../../lib/device';
import { formatLeakRow, type LeakRow, runLeakCheck } from '../../lib/harden/leak';
import { moduleWindow } from './module-window';

const LONG = process.env['MMAPLAB_HARDEN_LONG'] === '1';
const SMALL = 16 * 1024;
const LARGE = 2 * 1024 * 1024;
const SMALL_CYCLES = 300;
const METHOD_CYCLES = 10_000;
const LARGE_CYCLES = LONG ? 100 : 20;

function assertAllOk(rows: readonly LeakRow[]): void {
  for (const r of rows) process.stdout.write(`# ${formatLeakRow(r)}\n`);
  const bad = rows.filter((r) => !r.ok);
  assert.deepEqual(
    bad.map((r) => r.reason),
    [],
    `leak check failed for ${bad.map((r) => r.method).join(', ')}`,
  );
}

describe(`leak check (${LONG ? 'long' : 'short'} form) on ${os.release()}`, function () {
  this.timeout(LONG ? 3 * 3600_000 : 300_000);
  const kernel = moduleWindow();

  it('the counters move: a configured session is 1 buffer and its pages while open, nothing after close', function () {
    using probe = Device.open();
    const base = probe.counters();
    assert.deepEqual(base, { buffers: 0, pages: 0, sessions: 1 }, 'a fresh module holds only the probe session');
    const dev = Device.open();
    assert.deepEqual(probe.counters(), { ...base, sessions: 2 }, 'an open session counts before CONFIGURE');
    dev.configure({ alloc: 'pages_array', method: 'vm_insert_page', size: SMALL });
    assert.deepEqual(probe.counters(), { buffers: 1, pages: SMALL / 4096, sessions: 2 });
    const m = dev.map();
    m.touch('write');
    assert.throws(() => dev.configure({ alloc: 'vmalloc', method: 'fault_page', size: LARGE }), /EBUSY/);
    assert.deepEqual(probe.counters(), { buffers: 1, pages: SMALL / 4096, sessions: 2 }, 'a refused reconfigure changes nothing');
    m.unmap();
    dev.configure({ alloc: 'vmalloc', method: 'fault_page', size: LARGE });
    assert.deepEqual(probe.counters(), { buffers: 1, pages: LARGE / 4096, sessions: 2 }, 'a reconfigure replaces the buffer');
    dev.close();
    assert.deepEqual(probe.counters(), base, 'back to the start after close');
  });

  if (LONG) {
    it(`${METHOD_CYCLES} cycles of 16 KiB per safe method leave the counters, MemFree and Slab where they were`, async function () {
      const pairs = safePairs();
      const rows: LeakRow[] = [];
      for (const method of [...new Set(pairs.map((p) => p.method))]) {
        const mine = pairs.filter((p) => p.method === method);
        rows.push(...(await runLeakCheck({ cycles: Math.ceil(METHOD_CYCLES / mine.length), pairs: mine, sizes: [SMALL] })));
      }
      assertAllOk(rows);
    });
  } else {
    it(`${SMALL_CYCLES} cycles of 16 KiB per safe pair leave the counters, MemFree and Slab where they were`, async function () {
      assertAllOk(await runLeakCheck({ cycles: SMALL_CYCLES, sizes: [SMALL] }));
    });
  }

  it(`${LARGE_CYCLES} cycles of 2 MiB per safe pair leave the counters, MemFree and Slab where they were`, async function () {
    assertAllOk(await runLeakCheck({ cycles: LARGE_CYCLES, sizes: [LARGE], warmup: 2 }));
  });

  it('the leak check left no complaint in the log and no taint beyond O/E', function () {
    kernel.assertClean();
  });
});
