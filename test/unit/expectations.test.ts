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

  it('the slab fault hazard has series-specific rows: write-first oopses 6.1, 6.12 stays ok or reports Bad rss-counter', function () {
    const writeFirst = makeCell('kmalloc', 'fault_page', 4096, { scenario: 'write-first' });
    assert.equal(expectationFor(writeFirst, '6.1')?.verdict, 'oops');
    const readFirst = makeCell('kmalloc', 'fault_page', 4096);
    assert.equal(expectationFor(readFirst, '6.1')?.name, 'fault-on-slab-read-first-6.1');
    assert.equal(compare(writeFirst, '6.12', 'kernel-complaint', 'bad-rss-counter'), 'agrees', 'an alternative outcome agrees');
    assert.equal(compare(writeFirst, '6.12', 'oops', ''), 'differs');
    // A series nobody has run yet has no expectation for this hazard: the report says so.
    assert.equal(expectationFor(readFirst, '5.10'), undefined);
    assert.equal(compare(readFirst, '5.10', 'ok', ''), 'no-expectation');
  });

  it('the first-pfn hazard accepts any sign of kernel memory corruption, but not a refusal', function () {
    const c = makeCell('pages_array', 'remap_pfn_range_first_pfn', 16384);
    for (const [v, d] of [['wrong-data', 'kernel->user'], ['kernel-complaint', 'bad-rss-counter'], ['oops', 'gpf'], ['panic', '']] as const) {
      assert.equal(compare(c, '6.12', v, d), 'agrees', `${v} ${d}`);
    }
    assert.equal(compare(c, '6.12', 'refused', 'EINVAL'), 'differs');
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
