import { strict as assert } from 'node:assert';
import { CATALOGUE, FULL_CATALOGUE, makeCell } from '../../lib/experiments/catalogue';
import { BREAKING_VERDICTS, compare, expectationFor, predicted, RULES } from '../../lib/experiments/expectations';
import type { CellSpec } from '../../lib/experiments/types';
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

  it('every rule is used by some cell of the full set on some series (no dead rows)', function () {
    for (const r of RULES) {
      const used = FULL_CATALOGUE.some((c) => ['6.1', '6.12'].some((s) => expectationFor(c, s)?.name === r.name));
      assert.ok(used, `rule ${r.name} matches no cell`);
    }
  });

  it('an unsupported pair is expected to be refused with EINVAL, before any other rule', function () {
    const c = makeCell('kmalloc', 'dma_mmap_coherent', 4096);
    assert.equal(support('kmalloc', 'dma_mmap_coherent'), 'unsupported');
    assert.deepEqual([expectationFor(c, '6.1')?.verdict, expectationFor(c, '6.1')?.detail], ['refused', 'EINVAL']);
  });

  it('no prediction accepts both ok and an outcome where the kernel breaks', function () {
    for (const r of RULES) {
      const verdicts = predicted(r).map((o) => o.verdict);
      const breaks = verdicts.some((v) => BREAKING_VERDICTS.includes(v));
      assert.ok(!(breaks && verdicts.includes('ok')), `${r.name} predicts ${verdicts.join(', ')}`);
    }
  });

  it('predictions are not written from observation: what runs showed is in the observation record', function () {
    for (const r of RULES) {
      assert.doesNotMatch(r.reason, /\bobserved\b|\bseen\b/i, `${r.name}: its reason cites an observation`);
      for (const o of r.observed ?? []) {
        assert.ok(o.note.length > 40, `${r.name}: an observation says where it was seen and why`);
        assert.ok(
          !predicted(r).some((p) => p.verdict === o.verdict && p.detail === o.detail),
          `${r.name}: ${o.verdict} is predicted already`,
        );
      }
    }
  });

  it('the slab fault hazard is predicted to break the kernel on every series; its ok runs are in the record', function () {
    const writeFirst = makeCell('kmalloc', 'fault_page', 4096, { scenario: 'write-first' });
    const readFirst = makeCell('kmalloc', 'fault_page', 4096);
    for (const series of ['6.1', '6.12', '5.10']) {
      assert.equal(expectationFor(readFirst, series)?.name, 'fault-on-slab');
      assert.equal(compare(writeFirst, series, 'oops', 'page-fault-oops'), 'agrees');
      assert.equal(compare(writeFirst, series, 'kernel-complaint', 'bad-rss-counter'), 'agrees', 'any complaint meets it');
      assert.equal(compare(readFirst, series, 'refused', 'EINVAL'), 'differs');
    }
    // ok contradicts the prediction: as recorded where earlier runs showed it, a plain difference elsewhere.
    assert.equal(compare(readFirst, '6.1', 'ok', ''), 'as-recorded');
    assert.equal(compare(writeFirst, '6.1', 'ok', ''), 'differs', 'the 6.1 record is for read-first cells only');
    assert.equal(compare(writeFirst, '6.12', 'ok', ''), 'as-recorded');
    assert.equal(compare(readFirst, '5.10', 'ok', ''), 'differs', 'no run recorded anything on 5.10');
  });

  it('a cell of a method this mmaplab does not know has no expectation', function () {
    const future = { ...makeCell('pages_comp', 'vm_insert_page', 16384), method: 'vm_insert_folio' as CellSpec['method'] };
    assert.equal(expectationFor(future, '6.12'), undefined);
    assert.equal(compare(future, '6.12', 'ok', ''), 'no-expectation');
  });

  it('the first-pfn hazard is predicted to show foreign data or break the kernel; ok (consecutive pfns) is recorded', function () {
    const c = makeCell('pages_array', 'remap_pfn_range_first_pfn', 16384);
    for (const [v, d] of [
      ['wrong-data', 'kernel->user'],
      ['kernel-complaint', 'bad-rss-counter'],
      ['oops', 'gpf'],
      ['panic', ''],
    ] as const) {
      assert.equal(compare(c, '6.12', v, d), 'agrees', `${v} ${d}`);
    }
    assert.equal(compare(c, '6.12', 'ok', ''), 'as-recorded');
    assert.equal(compare(c, '6.12', 'refused', 'EINVAL'), 'differs');
  });

  it('the missing get_page hazard is predicted to break the kernel; ok is only in the observation record', function () {
    for (const alloc of ['pages_array', 'pages_comp', 'vmalloc'] as const) {
      const c = makeCell(alloc, 'fault_page_noref', 16384);
      for (const series of ['6.1', '6.12']) {
        assert.equal(compare(c, series, 'kernel-complaint', 'bad-page-state'), 'agrees');
        assert.equal(compare(c, series, 'hang', 'no-observation'), 'agrees');
        assert.equal(compare(c, series, 'ok', ''), 'as-recorded', `${alloc} ${series}`);
      }
    }
  });

  it('placement is predicted to change nothing: ok for a working pair, the same refusal for one the kernel refuses', function () {
    for (const scenario of ['hint-2m', 'hint-1g', 'fixed-over', 'short-length'] as const) {
      const works = makeCell('pages_comp', 'fault_page', 2 << 20, { scenario, faultAround: true });
      for (const series of ['6.1', '6.12']) {
        assert.equal(expectationFor(works, series)?.name, 'placement-changes-nothing');
        assert.equal(compare(works, series, 'ok', ''), 'agrees');
        assert.equal(compare(works, series, 'kernel-complaint', 'bad-rss-counter'), 'differs');
      }
      assert.equal(expectationFor(makeCell('kmalloc', 'vm_insert_page', 4096, { scenario }), '6.1')?.name, 'insert-refuses-slab');
      assert.equal(
        expectationFor(makeCell('vmalloc', 'remap_vmalloc_range', 16384, { scenario }), '6.12')?.name,
        'remap-vmalloc-range-needs-usermap',
      );
    }
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
