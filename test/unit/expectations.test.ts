/**
 * lib/experiments/expectations: what the table predicts per cell and kernel
 * series, and how a verdict compares with it.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { EXPECTATIONS, compare, expectationFor, type Expectation } from '../../lib/experiments/expectations';

const VMALLOC = 'vmalloc_user/remap_vmalloc_range/64K/basic';
const NOCOMP = 'pages_nocomp/fault_page/16K/basic';

describe('expectations', () => {
  it('every expectation is about a cell in the catalogue and gives a reason', () => {
    const ids = new Set(CATALOGUE.map((c) => c.id));
    for (const e of EXPECTATIONS) {
      assert.ok(ids.has(e.cellId), `${e.cellId} is not in the catalogue`);
      assert.ok(e.reason.length > 20, `${e.cellId}: reason is too short`);
    }
  });

  it('a verdict equal to the expectation agrees', () => {
    assert.equal(compare(VMALLOC, '6.1', 'ok', ''), 'agrees');
    assert.equal(compare(VMALLOC, '6.12', 'ok', ''), 'agrees');
  });

  it('an expectation with a detail agrees only when the detail matches too', () => {
    assert.equal(compare(NOCOMP, '6.1', 'kernel-complaint', 'bad-page-state'), 'agrees');
    assert.equal(compare(NOCOMP, '6.1', 'kernel-complaint', 'warning'), 'differs');
    assert.equal(compare(NOCOMP, '6.1', 'kernel-complaint', ''), 'differs');
  });

  it('an expectation without a detail ignores the verdict detail', () => {
    assert.equal(compare(VMALLOC, '6.1', 'ok', 'anything'), 'agrees');
  });

  it('another verdict differs', () => {
    assert.equal(compare(VMALLOC, '6.1', 'oops', 'page-fault-oops'), 'differs');
    assert.equal(compare(NOCOMP, '6.12', 'ok', ''), 'differs');
    assert.equal(compare(NOCOMP, '6.12', 'panic', 'bad-page-state'), 'differs');
  });

  it('a cell without an expectation has no-expectation, whatever the verdict', () => {
    assert.equal(expectationFor('vmalloc_user/fault_page/4K/basic', '6.1'), undefined);
    assert.equal(compare('vmalloc_user/fault_page/4K/basic', '6.1', 'ok', ''), 'no-expectation');
    assert.equal(compare('vmalloc_user/fault_page/4K/basic', '6.1', 'panic', 'panic'), 'no-expectation');
  });

  describe('with a series-specific row', () => {
    const CELL = 'test-only/series-specific/4K/basic';
    const rows: Expectation[] = [
      { cellId: CELL, series: '*', verdict: 'ok', reason: 'test row: what every series does unless told otherwise' },
      {
        cellId: CELL,
        series: '6.12',
        verdict: 'kernel-complaint',
        detail: 'bad-rss-counter',
        reason: 'test row: what 6.12 does differently',
      },
    ];
    const table = EXPECTATIONS as Expectation[];

    // The table is module data; add the rows for these tests only (the '*' row first,
    // so table order cannot be what makes the series row win).
    before(() => {
      table.push(...rows);
    });
    after(() => {
      for (const r of rows) table.splice(table.indexOf(r), 1);
    });

    it('the row for the kernel series beats the "*" row', () => {
      assert.equal(expectationFor(CELL, '6.12'), rows[1]);
      assert.equal(compare(CELL, '6.12', 'kernel-complaint', 'bad-rss-counter'), 'agrees');
      assert.equal(compare(CELL, '6.12', 'ok', ''), 'differs');
    });

    it('other series fall back to the "*" row', () => {
      assert.equal(expectationFor(CELL, '6.1'), rows[0]);
      assert.equal(compare(CELL, '6.1', 'ok', ''), 'agrees');
      assert.equal(compare(CELL, '6.1', 'kernel-complaint', 'bad-rss-counter'), 'differs');
    });
  });
});
