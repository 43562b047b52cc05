import { strict as assert } from 'node:assert';
import { configLabel, isBaseline, mapCostConfigs, safePairs } from '../../lib/bench/configs';
import { FAULT_METHODS, FILE_METHODS, PFN_METHODS, support } from '../../lib/device/support';
import { ALLOCATORS, METHODS } from '../../lib/experiments/types';

const KIB = 1024;
const MIB = 1024 * KIB;

describe('bench configurations (lib/bench/configs.ts)', () => {
  const pairs = safePairs();
  const inList = (list: readonly string[], m: string): boolean => list.includes(m);

  it('safePairs() is exactly the safe, non-file pairs of the support table', () => {
    const want = METHODS.flatMap((technique) =>
      ALLOCATORS.filter((alloc) => support(alloc, technique) === 'safe' && !inList(FILE_METHODS, technique)).map(
        (alloc) => `${alloc}/${technique}`,
      ),
    );
    assert.deepEqual(pairs.map((p) => `${p.alloc}/${p.technique}`).sort(), want.sort());
    assert.ok(pairs.every((p) => p.alloc !== 'pages_nocomp'), 'pages_nocomp is a hazard with everything');
    assert.ok(pairs.some((p) => p.alloc === 'pages_array' && p.technique === 'vm_insert_pages'));
    assert.ok(!pairs.some((p) => p.alloc === 'kmalloc' && p.technique === 'fault_page'), 'kmalloc + fault_page is a hazard');
  });

  it('per size: two baselines, every safe pair, fault-around for the fault technique, wc and uc for pfn techniques', () => {
    const sizes = [64 * KIB, 2 * MIB];
    const configs = mapCostConfigs(sizes, true);
    const faultPairs = pairs.filter((p) => inList(FAULT_METHODS, p.technique)).length;
    const pfnPairs = pairs.filter((p) => inList(PFN_METHODS, p.technique)).length;
    assert.ok(faultPairs > 0 && pfnPairs > 0);
    assert.equal(configs.length, sizes.length * (2 + pairs.length + faultPairs + 2 * pfnPairs));
    for (const size of sizes) {
      const own = configs.filter((c) => c.size === size);
      assert.deepEqual(
        own.filter((c) => c.alloc === null).map((c) => c.technique),
        ['anon', 'anon_populate'],
      );
      for (const c of own.filter((x) => x.faultAround)) assert.ok(inList(FAULT_METHODS, c.technique), configLabel(c));
      for (const c of own.filter((x) => x.cache !== 'wb')) assert.ok(inList(PFN_METHODS, c.technique), configLabel(c));
      const keys = own.map(configLabel);
      assert.equal(new Set(keys).size, keys.length, 'no configuration twice');
    }
  });

  it('without cache modes every row is write-back', () => {
    const configs = mapCostConfigs([64 * KIB], false);
    assert.ok(configs.every((c) => c.cache === 'wb'));
    assert.ok(configs.some((c) => c.faultAround), 'fault-around does not depend on cache modes');
  });

  it('isBaseline() tells the baselines from the techniques', () => {
    assert.ok(isBaseline('anon') && isBaseline('anon_populate'));
    assert.ok(!isBaseline('remap_pfn_range'));
  });

  it('labels say allocator, technique, size, cache and fault-around', () => {
    assert.equal(configLabel({ alloc: null, technique: 'anon', size: 2 * MIB, cache: 'wb', faultAround: false }), 'anon/2M');
    assert.equal(
      configLabel({ alloc: 'pages_array', technique: 'fault_page', size: 64 * KIB, cache: 'wb', faultAround: true }),
      'pages_array/fault_page/64K+fa',
    );
    assert.equal(
      configLabel({ alloc: 'kmalloc', technique: 'remap_pfn_range', size: 12288, cache: 'uc', faultAround: false }),
      'kmalloc/remap_pfn_range/12K/uc',
    );
  });
});
