import { strict as assert } from 'node:assert';
import { configLabel, isBaseline, mapCostConfigs, safePairs } from '../../lib/bench/configs';
import { FAULT_METHODS, FILE_METHODS, PFN_METHODS, support } from '../../lib/device/support';
import { CELL_ALLOCS, CELL_METHODS } from '../../lib/experiments/types';

const KIB = 1024;
const MIB = 1024 * KIB;

describe('bench configurations (lib/bench/configs.ts)', () => {
  const pairs = safePairs();
  const inList = (list: readonly string[], m: string): boolean => list.includes(m);

  it('safePairs() is exactly the safe, non-file pairs of the support table', () => {
    const want = CELL_METHODS.flatMap((method) =>
      CELL_ALLOCS.filter((alloc) => support(alloc, method) === 'safe' && !inList(FILE_METHODS, method)).map(
        (alloc) => `${alloc}/${method}`,
      ),
    );
    assert.deepEqual(pairs.map((p) => `${p.alloc}/${p.method}`).sort(), want.sort());
    assert.ok(
      pairs.every((p) => p.alloc !== 'pages_nocomp'),
      'pages_nocomp is a hazard with everything',
    );
    assert.ok(pairs.some((p) => p.alloc === 'pages_array' && p.method === 'vm_insert_pages'));
    assert.ok(!pairs.some((p) => p.alloc === 'kmalloc' && p.method === 'fault_page'), 'kmalloc + fault_page is a hazard');
  });

  it('per size: two baselines, every safe pair, fault-around for the fault method, wc and uc for pfn methods', () => {
    const sizes = [64 * KIB, 2 * MIB];
    const configs = mapCostConfigs(sizes, true);
    const faultPairs = pairs.filter((p) => inList(FAULT_METHODS, p.method)).length;
    const pfnPairs = pairs.filter((p) => inList(PFN_METHODS, p.method)).length;
    assert.ok(faultPairs > 0 && pfnPairs > 0);
    assert.equal(configs.length, sizes.length * (2 + pairs.length + faultPairs + 2 * pfnPairs));
    for (const size of sizes) {
      const own = configs.filter((c) => c.size === size);
      assert.deepEqual(
        own.filter((c) => c.alloc === null).map((c) => c.method),
        ['anon', 'anon_populate'],
      );
      for (const c of own.filter((x) => x.faultAround)) assert.ok(inList(FAULT_METHODS, c.method), configLabel(c));
      for (const c of own.filter((x) => x.cache !== 'wb')) assert.ok(inList(PFN_METHODS, c.method), configLabel(c));
      const keys = own.map(configLabel);
      assert.equal(new Set(keys).size, keys.length, 'no configuration twice');
    }
  });

  it('without cache modes every row is write-back', () => {
    const configs = mapCostConfigs([64 * KIB], false);
    assert.ok(configs.every((c) => c.cache === 'wb'));
    assert.ok(
      configs.some((c) => c.faultAround),
      'fault-around does not depend on cache modes',
    );
  });

  it('isBaseline() tells the baselines from the methods', () => {
    assert.ok(isBaseline('anon') && isBaseline('anon_populate'));
    assert.ok(!isBaseline('remap_pfn_range'));
  });

  it('labels say allocator, method, size, cache and fault-around', () => {
    assert.equal(configLabel({ alloc: null, method: 'anon', size: 2 * MIB, cache: 'wb', faultAround: false }), 'anon/2M');
    assert.equal(
      configLabel({ alloc: 'pages_array', method: 'fault_page', size: 64 * KIB, cache: 'wb', faultAround: true }),
      'pages_array/fault_page/64K+fa',
    );
    assert.equal(
      configLabel({ alloc: 'kmalloc', method: 'remap_pfn_range', size: 12288, cache: 'uc', faultAround: false }),
      'kmalloc/remap_pfn_range/12K/uc',
    );
  });
});
