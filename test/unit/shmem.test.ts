/**
 * shmem objects as a buffer (the shmem allocator): which methods take
 * them, the cells and their predictions (the shared-futex observation
 * included), the fuzzer's SHMEM_PIN operation, and /proc/swaps as the
 * swap helper reads it.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE, RESERVABLE_ALLOCS, SCENARIO_PAIRS } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';
import { support } from '../../lib/experiments/support';
import { CELL_METHODS } from '../../lib/experiments/types';
import { formatOpList, generateOps } from '../../lib/fuzz/ops';
import { parseOps } from '../../lib/fuzz/ops-schema';
import { activeSwaps } from '../../lib/util/swap';

describe("shmem: a shmem object's pages as the buffer", function () {
  it('is taken by every method that takes pages with a reference and by the pfn-based ones, never as a hazard', function () {
    assert.deepEqual(
      CELL_METHODS.filter((m) => support('shmem', m) === 'safe'),
      [
        'remap_pfn_range',
        'fault_page',
        'vm_insert_page',
        'vm_insert_pages',
        'vm_map_pages',
        'vmf_insert_pfn',
        'vmf_insert_pfn_prot',
        'vmf_insert_mixed',
      ],
    );
    assert.deepEqual(
      CELL_METHODS.filter((m) => support('shmem', m) === 'hazard'),
      [],
    );
    assert.equal(support('shmem', 'fault_page_noref'), 'unsupported', "the reference it fails to take would be the page cache's");
    assert.ok(!RESERVABLE_ALLOCS.includes('shmem'), "the pages are not the driver's to mark reserved");
  });

  it('runs every scenario and use behind a fault handler, and no cell of it is a hazard', function () {
    assert.ok(SCENARIO_PAIRS.some(([a, m]) => a === 'shmem' && m === 'fault_page'));
    const cells = CATALOGUE.filter((c) => c.alloc === 'shmem');
    assert.ok(cells.some((c) => c.id === 'shmem/fault_page/16K/use:futex-shared'));
    assert.ok(cells.every((c) => !c.hazard && c.reserved === undefined && c.cache === 'wb'));
  });

  it("predicts the method's outcome and records the shared futex the page cache's pages take", function () {
    const futex = CATALOGUE.find((c) => c.id === 'shmem/fault_page/16K/use:futex-shared');
    assert.ok(futex);
    const e = expectationFor(futex, '6.12');
    assert.deepEqual([e?.verdict, e?.detail], ['refused', 'EFAULT'], 'the prediction stands as written');
    assert.deepEqual(
      e?.observed?.map((o) => [o.verdict, o.detail]),
      [['ok', 'woken']],
    );
    const plain = CATALOGUE.find((c) => c.id === 'pages_array/fault_page/16K/use:futex-shared');
    assert.ok(plain);
    assert.deepEqual(expectationFor(plain, '6.12')?.observed ?? [], [], "the driver's own pages have no such record");
    const basic = CATALOGUE.find((c) => c.id === 'shmem/vm_insert_pages/16K/basic');
    assert.ok(basic);
    assert.equal(expectationFor(basic, '6.1')?.verdict, 'ok');
  });

  it('the fuzzer unpins, pins and sends the hazard and values SHMEM_PIN must refuse', function () {
    const ops = generateOps(7, 20_000).filter((o) => o.op === 'shmem-pin');
    const pins = new Set(ops.map((o) => (o.op === 'shmem-pin' && o.pin > 2 ? 'other' : String(o.op === 'shmem-pin' ? o.pin : -1))));
    assert.deepEqual([...pins].sort(), ['0', '1', '2', 'other'], '2 is the hazard, above it values to refuse');
    assert.deepEqual(parseOps(formatOpList(ops)), ops, 'and they read back from JSON');
  });

  it('reads the swap devices from /proc/swaps', function () {
    const text =
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' + '/dev/vdb                                partition\t4092\t\t0\t\t-2\n';
    assert.deepEqual(activeSwaps(text), ['/dev/vdb']);
    assert.deepEqual(activeSwaps('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'), []);
  });
});
