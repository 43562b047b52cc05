/**
 * Guest suite, module loaded WITHOUT allow_hazards: every allocator x method
 * cell of the catalogue either round-trips its data or gets the specific
 * refusal, every hazard is refused with EPERM, and nothing reachable through
 * the uapi makes the kernel complain or gain a taint bit beyond O/E.
 *
 * The placement cells (380 per kernel, every safe pair at two sizes) are
 * left to `mmaplab matrix --scenario ...`: here they would more than double
 * the suite's time. 35-placement covers placement inside the suite. So are
 * the use cells (390 per kernel, `mmaplab matrix --uses only`); 55-uses
 * runs one use of each family. Of the dma-buf twins, one pair per method
 * maps here (and is refused past the end); the other 150 per kernel are the
 * matrix's (`--cell /dmabuf`); 39-dmabuf covers the dma-buf itself.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { Device, checkPattern, writePattern } from '../../lib/device';
import { CATALOGUE, SCENARIO_PAIRS } from '../../lib/experiments/catalogue';
import { type CellSpec, PLACEMENT_SCENARIOS, type Scenario } from '../../lib/experiments/types';
import { expectationFor } from '../../lib/experiments/expectations';
import { seriesOf } from '../../lib/vm/kernels';
import { CellRunner } from '../../lib/runner/cell-runner';
import { moduleWindow } from './module-window';

const series = seriesOf(os.release());

describe(`every pair with hazards disabled on ${os.release()}`, function () {
  const runner = new CellRunner({ kernel: os.release() });
  const kernel = moduleWindow();
  after(() => runner.close());

  const placement = (c: { scenario: Scenario }): boolean => (PLACEMENT_SCENARIOS as readonly Scenario[]).includes(c.scenario);
  // Of the dma-buf twins, one pair per method (the scenario pairs): mapped, and past the end (the dma-buf core's refusal).
  const isScenarioPair = (c: CellSpec): boolean => SCENARIO_PAIRS.some(([a, m]) => a === c.alloc && m === c.method) && c.size === 16 * 1024;
  const dmabufScenario = (c: CellSpec): boolean =>
    c.via === 'dmabuf' && !((c.scenario === 'basic' || c.scenario === 'past-end') && isScenarioPair(c));
  for (const cell of CATALOGUE.filter((c) => c.profile === 'default' && !placement(c) && c.scenario !== 'use' && !dmabufScenario(c))) {
    if (cell.hazard) {
      it(`${cell.id}: hazard refused with EPERM (hazard-disabled), kernel silent`, async function () {
        const r = await runner.run(cell);
        assert.equal(r.verdict, 'refused', `${r.verdict}: ${r.headline}`);
        assert.equal(r.detail, 'EPERM', r.headline);
        assert.equal(r.evidence.observation?.refused?.step, 'configure');
        assert.equal(r.evidence.observation?.refused?.reason, 'hazard-disabled');
        assert.deepEqual(r.evidence.findings, []);
      });
      continue;
    }
    const e = expectationFor(cell, series);
    const want = e ? `${e.verdict}${e.detail ? ` ${e.detail}` : ''}` : 'no expectation';
    it(`${cell.id}: ${want}`, async function () {
      assert.ok(e, 'every safe cell has an expectation');
      const r = await runner.run(cell);
      const why = `${r.verdict} (${r.detail}): ${r.headline}\n${r.evidence.kmsg.join('\n')}`;
      assert.deepEqual(r.evidence.findings, [], `kernel complained: ${why}`);
      assert.deepEqual(r.evidence.taintGained, [], `taint gained: ${why}`);
      assert.equal(r.verdict, e.verdict, why);
      if (e.detail !== undefined) assert.equal(r.detail, e.detail, why);
      // A refusal of CONFIGURE or mmap passed through the module, which must
      // say why; madvise and friends are refused by the kernel alone.
      const refused = r.evidence.observation?.refused;
      const byDmabufCore = cell.via === 'dmabuf' && cell.scenario === 'past-end';
      if (r.verdict === 'refused' && (refused?.step === 'configure' || refused?.step === 'mmap') && !byDmabufCore) {
        assert.ok(refused.reason && refused.reason !== 'none', `the module says why: ${JSON.stringify(refused)}`);
      }
      // The dma-buf core refuses that range itself: the module never saw it.
      if (byDmabufCore) assert.equal(refused?.reason ?? 'none', 'none', `the dma-buf core refused it: ${JSON.stringify(refused)}`);
      // Every DMA_BUF_IOCTL_SYNC the probe made reached the exporter, once.
      const sync = r.evidence.observation?.dmabuf;
      if (cell.via === 'dmabuf') {
        assert.ok(sync, 'the probe recorded its DMA_BUF_IOCTL_SYNC calls');
        assert.deepEqual([sync.seenBegin, sync.seenEnd], [sync.begun, sync.ended], JSON.stringify(sync));
        if (r.verdict === 'ok') assert.deepEqual([sync.begun, sync.ended], [1, 1], 'one bracket of CPU access');
      }
    });
  }

  it('bad CONFIGURE input of every kind is an errno with a reason, never a complaint', function () {
    const dev = Device.open();
    try {
      const base = { alloc: 4, method: 3, size: 16384n, flags: 0, cache: 0, delay_ms: 0, period_ms: 0 };
      const cases: Array<[Partial<typeof base>, string, string]> = [
        [{ alloc: 0 }, 'EINVAL', 'bad-enum'],
        [{ alloc: 99 }, 'EINVAL', 'bad-enum'],
        [{ method: 0 }, 'EINVAL', 'bad-enum'],
        [{ cache: 7 }, 'EINVAL', 'bad-enum'],
        [{ size: 0n }, 'EINVAL', 'bad-size'],
        [{ size: 4097n }, 'EINVAL', 'bad-size'],
        [{ size: 1n << 40n }, 'EINVAL', 'bad-size'],
        [{ size: (1n << 64n) - 4096n }, 'EINVAL', 'bad-size'],
        [{ flags: 0x80 }, 'EINVAL', 'bad-flags'],
        [{ method: 7, cache: 1 }, 'EINVAL', 'cache'],
        [{ method: 3, flags: 1 }, 'EINVAL', 'fault-around'],
        [{ alloc: 1, method: 11 }, 'EINVAL', 'combination'],
      ];
      for (const [over, code, reason] of cases) {
        assert.throws(
          () => dev.configureRaw({ ...base, ...over }),
          (err: Error & { code?: string }) => err.code === code,
          `${JSON.stringify(over, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} -> ${code}`,
        );
        assert.equal(
          dev.lastError().reason,
          reason,
          JSON.stringify(over, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
        );
      }
      assert.throws(
        () => dev.freeWhileMapped(),
        (err: Error & { code?: string }) => err.code === 'EPERM' || err.code === 'ENODEV',
      );
    } finally {
      dev.close();
    }
  });

  it('mmap beyond the buffer, at a bad offset or before CONFIGURE is refused with a reason', function () {
    const dev = Device.open();
    try {
      assert.throws(
        () => dev.map({ length: 4096 }),
        (err: Error & { code?: string }) => err.code === 'ENODEV' || err.code === 'EINVAL',
      );
      dev.configure({ alloc: 'pages_array', method: 'vm_insert_page', size: 16384 });
      assert.throws(
        () => dev.map({ length: 32768 }),
        (err: Error & { code?: string }) => err.code === 'EINVAL',
      );
      assert.equal(dev.lastError().reason, 'range');
      assert.throws(
        () => dev.map({ length: 8192, offset: 16384 }),
        (err: Error & { code?: string }) => err.code === 'EINVAL',
      );
      const m = dev.map({ length: 8192, offset: 8192 });
      assert.throws(
        () => dev.configure({ alloc: 'pages_array', method: 'vm_insert_page', size: 8192 }),
        (err: Error & { code?: string }) => err.code === 'EBUSY',
      );
      assert.equal(dev.lastError().reason, 'mapped');
      m.unmap();
    } finally {
      dev.close();
    }
  });

  it('read() and write() copy to and from the buffer; writes through the mapping never pass through write()', function () {
    const dev = Device.open();
    try {
      dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 16384 });
      dev.fill(7);
      const head = dev.read(16384, 0);
      const ab = head.buffer.slice(head.byteOffset, head.byteOffset + head.byteLength);
      assert.equal(checkPattern(ab, 7), null, 'read() returns what FILL wrote');
      const mine = new ArrayBuffer(16384);
      writePattern(mine, 9);
      assert.equal(dev.write(Buffer.from(mine), 0), 16384);
      assert.equal(dev.verify(9).mismatch, null, 'write() reached the buffer');
      const before = dev.stats();
      const m = dev.map({ length: 16384 });
      writePattern(m.buffer, 11);
      assert.equal(dev.verify(11).mismatch, null, 'the mapping wrote the buffer');
      const after = dev.stats();
      assert.equal(after.writeCalls, before.writeCalls, 'no write() call was involved');
      assert.equal(after.writeBytes, before.writeBytes);
      m.unmap();
      assert.equal(dev.read(100, 16384).length, 0, 'read at the end is EOF');
    } finally {
      dev.close();
    }
  });

  it('INFO explains the buffer: contiguity, slab origin and per-page facts', function () {
    const dev = Device.open();
    try {
      dev.configure({ alloc: 'kmalloc', method: 'remap_pfn_range', size: 4096 });
      const slab = dev.info({ pages: true });
      assert.equal(slab.slab, true, 'a 4 KiB kmalloc comes from a slab cache');
      assert.equal(slab.contiguous, true);
      assert.equal(slab.pages?.length, 1);
      dev.configure({ alloc: 'pages_comp', method: 'remap_pfn_range', size: 16384 });
      const comp = dev.info({ pages: true });
      assert.equal(comp.pages?.[0]?.head, true);
      assert.equal(comp.pages?.[1]?.tail, true);
      dev.configure({ alloc: 'vmalloc', method: 'remap_pfn_range', size: 16384 });
      const vm = dev.info({ pages: true });
      assert.equal(vm.nrPages, 4n);
      assert.equal(vm.contiguous, false);
    } finally {
      dev.close();
    }
  });

  it('MAP_PRIVATE: refused where the method cannot honour it, private copies elsewhere', function () {
    const dev = Device.open();
    try {
      dev.configure({ alloc: 'pages_comp', method: 'vmf_insert_pfn', size: 16384 });
      assert.throws(
        () => dev.map({ length: 16384, private: true }),
        (err: Error & { code?: string }) => err.code === 'EINVAL',
      );
      assert.equal(dev.lastError().reason, 'private', 'a private writable pfn mapping would hit a kernel BUG_ON');
      dev.configure({ alloc: 'pages_array', method: 'vm_insert_page', size: 16384 });
      dev.fill(3);
      const m = dev.map({ length: 16384, private: true });
      assert.equal(checkPattern(m.buffer, 3), null, 'the private mapping shows the buffer');
      writePattern(m.buffer, 4);
      assert.equal(dev.verify(3).mismatch, null, 'writes to a private mapping never reach the driver');
      m.unmap();
    } finally {
      dev.close();
    }
  });

  it('fault-around (->map_pages) serves a 64 KiB mapping with fewer faults than the plain fault handler', async function () {
    const plain = CATALOGUE.find((c) => c.id === 'pages_array/fault_page/64K/basic');
    const around = CATALOGUE.find((c) => c.id === 'pages_array/fault_page/64K/basic/fault-around');
    assert.ok(plain && around);
    const a = await runner.run(plain);
    const b = await runner.run(around);
    assert.equal(a.verdict, 'ok', a.headline);
    assert.equal(b.verdict, 'ok', b.headline);
    const sa = a.evidence.observation?.stats;
    const sb = b.evidence.observation?.stats;
    assert.ok(sa && sb);
    assert.equal(sa.mapPagesCalls, 0);
    assert.equal(sa.faults, 16, 'one fault per page without fault-around');
    assert.ok(sb.mapPagesCalls > 0, 'map_pages was called');
    assert.ok(sb.faults < sa.faults, `faults with fault-around ${sb.faults} < without ${sa.faults}`);
  });

  it('the whole sweep left no complaint in the log and no taint beyond O/E', function () {
    kernel.assertClean();
  });
});
