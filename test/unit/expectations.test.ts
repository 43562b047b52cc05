import { strict as assert } from 'node:assert';
import { CATALOGUE, makeCell } from '../../lib/experiments/catalogue';
import { compare, expectationFor, RULES } from '../../lib/experiments/expectations';
import { support } from '../../lib/experiments/support';

describe('expectations table (lib/experiments/expectations.ts)', function () {
  it('every catalogue cell has an expectation with a reason on both series', function () {
    for (const series of ['6.1', '6.12']) {
      for (const c of CATALOGUE) {
        const e = expectationFor(c, series);
        assert.ok(e, `${c.id} on ${series} has no expectation`);
        assert.ok(e.reason.length > 20, `${c.id}: the reason says why`);
      }
    }
  });

  it('every rule is used by some catalogue cell on some series (no dead rows)', function () {
    for (const r of RULES) {
      const used = CATALOGUE.some((c) => ['6.1', '6.12'].some((s) => expectationFor(c, s)?.name === r.name));
      assert.ok(used, `rule ${r.name} matches no cell`);
    }
  });

  it('an unsupported pair is expected to be refused with EINVAL, before any other rule', function () {
    const c = makeCell('kmalloc', 'dma_mmap_coherent', 4096);
    assert.equal(support('kmalloc', 'dma_mmap_coherent'), 'unsupported');
    assert.deepEqual([expectationFor(c, '6.1')?.verdict, expectationFor(c, '6.1')?.detail], ['refused', 'EINVAL']);
  });

  it('the slab fault hazard has a series-specific expectation: oops on 6.1, Bad rss-counter on 6.12', function () {
    const c = makeCell('kmalloc', 'fault_page', 4096);
    assert.equal(expectationFor(c, '6.1')?.verdict, 'oops');
    assert.equal(expectationFor(c, '6.12')?.detail, 'bad-rss-counter');
    // A series with no specific rule falls through to the later general rules.
    assert.equal(expectationFor(c, '5.10')?.name, 'large-kmalloc-fault');
  });

  it('compare() says agrees, differs (verdict or detail) or no-expectation', function () {
    const c = makeCell('pages_nocomp', 'fault_page', 16384);
    assert.equal(compare(c, '6.1', 'kernel-complaint', 'bad-page-state'), 'agrees');
    assert.equal(compare(c, '6.1', 'kernel-complaint', 'warning'), 'differs');
    assert.equal(compare(c, '6.1', 'ok', ''), 'differs');
    const safe = makeCell('vmalloc_user', 'remap_vmalloc_range', 16384);
    assert.equal(compare(safe, '6.12', 'ok', ''), 'agrees');
  });
});
