/**
 * Guest suite, module loaded WITHOUT allow_hazards: the guest part of
 * `mmaplab bench` at its smallest (64 KiB, one repetition, cache modes on,
 * the C cycle program the host compiled). Checks the shape and the sanity
 * of what it measures, never how fast anything is: the only comparisons
 * are of fault counts, which do not depend on the machine.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BENCH_CYCLE_ENV } from '../../lib/bench/c-program';
import { safePairs } from '../../lib/bench/configs';
import { measureGuestBench } from '../../lib/bench/measure';
import type { GuestBench, MapCostRow, Stat } from '../../lib/bench/types';
import { PFN_METHODS } from '../../lib/device/support';
import { moduleWindow } from './module-window';
import { at } from '../../lib/util/at';

const SIZE = 64 * 1024;
const PAGES = SIZE / 4096;

/** The compiled native/bench-cycle.c: the host builds it and passes its path (lib/runner/host-suite.ts). */
function cycleProgram(): string {
  const p = process.env[BENCH_CYCLE_ENV];
  if (!p) throw new Error(`${BENCH_CYCLE_ENV} is not set: the host compiles the cycle program for the guest suite`);
  assert.ok(fs.existsSync(p), `${BENCH_CYCLE_ENV}=${p} does not exist in the guest`);
  return p;
}

function assertStat(s: Stat | undefined, what: string): void {
  assert.ok(s, `${what} is missing`);
  assert.equal(s.n, 1, `${what}: one repetition`);
  assert.ok(Number.isFinite(s.median) && s.median > 0, `${what} median ${s.median}`);
  assert.ok(s.min <= s.median && s.median <= s.max, `${what}: min <= median <= max`);
}

const label = (r: MapCostRow): string => `${r.alloc ?? '-'}/${r.method}/${r.cache}${r.faultAround ? '+fault-around' : ''}`;

describe('guest bench: mapping costs and addon overhead (lib/bench/measure.ts)', function () {
  this.timeout(600_000);
  let bench: GuestBench;
  const kernel = moduleWindow();

  const rows = (pred: (r: MapCostRow) => boolean): MapCostRow[] => bench.mapCost.filter(pred);
  const one = (pred: (r: MapCostRow) => boolean, what: string): MapCostRow => {
    const found = rows(pred);
    assert.equal(found.length, 1, `exactly one row for ${what}`);
    return at(found, 0, `the row for ${what}`);
  };
  const measured = (r: MapCostRow): boolean => r.refused === undefined;

  before(async function () {
    bench = await measureGuestBench({ sizes: [SIZE], reps: 1, cacheModes: true, cProgram: cycleProgram() });
  });

  it('names the running kernel', () => {
    assert.equal(bench.kernel, os.release());
  });

  it('has one write-back row per safe allocator x method pair, and nothing else from the device', () => {
    const pairs = safePairs();
    assert.ok(pairs.length > 30, `${pairs.length} safe pairs`);
    for (const { alloc, method } of pairs) {
      one((r) => r.alloc === alloc && r.method === method && r.cache === 'wb' && !r.faultAround, `${alloc}/${method}`);
    }
    const device = rows((r) => r.alloc !== null);
    for (const r of device) {
      assert.ok(
        pairs.some((p) => p.alloc === r.alloc && p.method === r.method),
        `${label(r)} is not a safe pair (hazards and file methods are not benchmarked)`,
      );
      assert.equal(r.size, SIZE);
      assert.equal(r.pages, PAGES);
    }
  });

  it('has the anonymous baselines, both measured', () => {
    for (const method of ['anon', 'anon_populate'] as const) {
      const r = one((x) => x.alloc === null && x.method === method, method);
      assert.equal(r.refused, undefined, `${method} refused: ${r.refused}`);
      assert.equal(r.faultsRead, 0, 'no module faults for anonymous memory');
      assert.equal(r.faultsWrite, 0);
    }
  });

  it('has fault_page with fault-around, and wc and uc rows for every safe pfn pair', () => {
    for (const { alloc, method } of safePairs()) {
      if (method === 'fault_page') {
        one((r) => r.alloc === alloc && r.method === method && r.faultAround, `${alloc}/fault_page+fault-around`);
      }
      if ((PFN_METHODS as readonly string[]).includes(method)) {
        for (const cache of ['wc', 'uc'] as const) {
          one((r) => r.alloc === alloc && r.method === method && r.cache === cache, `${alloc}/${method}/${cache}`);
        }
      }
    }
    for (const r of rows((x) => x.faultAround)) assert.equal(r.method, 'fault_page', `${label(r)} has fault-around`);
    for (const r of rows((x) => x.cache !== 'wb')) {
      assert.ok((PFN_METHODS as readonly string[]).includes(r.method), `${label(r)} has a cache mode`);
    }
  });

  it('a refused row says why and has no figures; a measured row has every figure', () => {
    for (const r of bench.mapCost) {
      if (r.refused !== undefined) {
        assert.match(r.refused, /^E[A-Z]+: .+ \((CONFIGURE|mmap)\)$/, `${label(r)}: the refusal names errno, reason and step`);
        assert.equal(r.mmapNs, undefined, `${label(r)} refused but has figures`);
        assert.equal(r.readBytesPerSec, undefined);
        continue;
      }
      for (const k of ['mmapNs', 'touchReadNs', 'touchWriteNs', 'munmapNs', 'readBytesPerSec', 'writeBytesPerSec'] as const) {
        assertStat(r[k], `${label(r)} ${k}`);
      }
      for (const k of ['faultsRead', 'faultsWrite', 'mapPagesCallsRead', 'minfltRead', 'minfltWrite'] as const) {
        const v = r[k];
        assert.ok(typeof v === 'number' && Number.isInteger(v) && v >= 0, `${label(r)} ${k} = ${v}`);
      }
    }
    // Most of the table is measured: the refusals at 64 KiB are the kernel's few.
    assert.ok(rows(measured).length > (bench.mapCost.length * 3) / 4, `${rows(measured).length}/${bench.mapCost.length} measured`);
  });

  it('fault-around takes fewer ->fault calls for a read touch than one fault per page', () => {
    const pairs = safePairs().filter((p) => p.method === 'fault_page');
    assert.ok(pairs.length > 0);
    for (const { alloc } of pairs) {
      const off = one((r) => r.alloc === alloc && r.method === 'fault_page' && !r.faultAround, `${alloc}/fault_page`);
      const on = one((r) => r.alloc === alloc && r.method === 'fault_page' && r.faultAround, `${alloc}/fault_page+fa`);
      assert.equal(off.refused, undefined, `${alloc}/fault_page refused: ${off.refused}`);
      assert.equal(on.refused, undefined, `${alloc}/fault_page+fa refused: ${on.refused}`);
      assert.equal(off.faultsRead, PAGES, `${alloc}: one fault per page without fault-around`);
      assert.equal(off.mapPagesCallsRead, 0, `${alloc}: no ->map_pages without fault-around`);
      assert.ok((on.faultsRead as number) < off.faultsRead, `${alloc}: ${on.faultsRead} faults with fault-around`);
      assert.ok((on.mapPagesCallsRead as number) >= 1, `${alloc}: ->map_pages called`);
    }
  });

  it('methods that map everything at mmap time take no ->fault; the vmf_insert_* ones one per page', () => {
    for (const r of rows((x) => measured(x) && x.cache === 'wb')) {
      if (r.method === 'vm_insert_pages' || r.method === 'remap_pfn_range' || r.method === 'vm_map_pages') {
        assert.equal(r.faultsRead, 0, `${label(r)}: faults on a read touch`);
        assert.equal(r.faultsWrite, 0, `${label(r)}: faults on a write touch`);
      }
      if (['vmf_insert_pfn', 'vmf_insert_pfn_prot', 'vmf_insert_mixed'].includes(r.method)) {
        assert.equal(r.faultsRead, PAGES, `${label(r)}: one fault per page`);
      }
    }
  });

  it('MAP_POPULATE leaves fewer minor faults to the touch than the lazy baseline', () => {
    const lazy = one((r) => r.method === 'anon', 'anon');
    const populated = one((r) => r.method === 'anon_populate', 'anon_populate');
    assert.ok((lazy.minfltWrite as number) >= PAGES, `lazy: ${lazy.minfltWrite} minor faults writing ${PAGES} pages`);
    assert.ok((populated.minfltWrite as number) < (lazy.minfltWrite as number), `populated: ${populated.minfltWrite}`);
  });

  it('has an addon-overhead row for 64 KiB with both sides measured', () => {
    assert.equal(bench.addonOverhead.length, 1);
    const r = bench.addonOverhead[0];
    assert.ok(r);
    assert.deepEqual([r.alloc, r.method, r.size, r.pages], ['vmalloc_user', 'remap_vmalloc_range', SIZE, PAGES]);
    assertStat(r.typescriptNs, 'typescriptNs');
    assertStat(r.cNs, 'cNs');
  });

  it('leaves no kernel complaint and no new taint', () => {
    kernel.assertClean();
  });
});
