/** lib/harden/leak: how a row of the leak check is judged, from its figures alone. */
import { strict as assert } from 'node:assert';
import { judgeLeakRow, leakBoundKb, type LeakRow, type MemoryDelta } from '../../lib/harden/leak';

const BOUND = leakBoundKb(300);

function delta(memFreeDeltaKb: number, slabDeltaKb = 0): MemoryDelta {
  return { memFreeDeltaKb, memFreeRawDeltaKb: memFreeDeltaKb, pcpDeltaKb: 0, rssAnonDeltaKb: 0, slabDeltaKb };
}

function row(
  first: MemoryDelta,
  confirmation: MemoryDelta | null,
  counters = { buffers: 0, pages: 0, sessions: 0 },
): Omit<LeakRow, 'ok' | 'reason'> {
  return {
    pair: 'vmalloc/fault_page/16K',
    alloc: 'vmalloc',
    method: 'fault_page',
    size: 16384,
    cycles: 300,
    counterDelta: counters,
    ...first,
    boundKb: BOUND,
    confirmation,
    seenWhileOpen: { buffers: 1, pages: 4, sessions: 1 },
    mapRefused: null,
    durationMs: 1000,
  };
}

describe('leak check judgement (lib/harden/leak.ts)', function () {
  it('the bound of the short form is 2 MiB and a page per 100 cycles', function () {
    assert.equal(BOUND, 2060);
  });

  it('passes a row within the bound, with no confirmation window', function () {
    assert.equal(judgeLeakRow(row(delta(1304, 140), null)), null);
  });

  it('fails a row over the bound when no second window was measured', function () {
    assert.match(judgeLeakRow(row(delta(2072), null)) ?? '', /MemFree dropped by 2072 kB net of RSS \(bound 2060 kB\)/);
  });

  it('passes a row whose excess a second window of as many cycles does not repeat', function () {
    assert.equal(judgeLeakRow(row(delta(2072), delta(150))), null);
  });

  it('fails a row whose excess the second window repeats, and names both windows', function () {
    const reason = judgeLeakRow(row(delta(4800), delta(4790))) ?? '';
    assert.match(reason, /MemFree dropped by 4800 kB/);
    assert.match(reason, /again in a second window: MemFree dropped by 4790 kB/);
  });

  it('judges Slab the same way as MemFree', function () {
    assert.match(judgeLeakRow(row(delta(0, 3000), delta(0, 2900))) ?? '', /Slab grew by 3000 kB.*Slab grew by 2900 kB/);
    assert.equal(judgeLeakRow(row(delta(0, 3000), delta(0, 10))), null);
  });

  it('fails on moved module counters whatever the memory figures say', function () {
    const reason = judgeLeakRow(row(delta(0), null, { buffers: 1, pages: 4, sessions: 0 })) ?? '';
    assert.match(reason, /module counters moved by buffers 1, pages 4, sessions 0/);
  });
});
