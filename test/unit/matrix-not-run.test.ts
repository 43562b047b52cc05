/**
 * A matrix run that stops early (a VM that never reaches its agent three
 * times, an unwritable run directory) names, per kernel, the cells that did
 * not run: notRunLines, from the selected cells and the results so far.
 */
import { strict as assert } from 'node:assert';
import { notRunLines } from '../../lib/cli/matrix';
import { K61, K612, run, spec } from './report-fixture';
import { at } from '../../lib/util/at';

describe('matrix: cells that did not run', () => {
  const cells = [spec('kmalloc/remap_pfn_range/4K/basic'), spec('kmalloc/remap_pfn_range/64K/basic'), spec('kmalloc/fault_page/4K/basic')];
  const on = (...releases: string[]) => new Map(releases.map((r) => [r, { cells }]));

  it('nothing when every cell has its result on every kernel', () => {
    const results = [K61, K612].flatMap((k) => cells.map((c) => run(k, c, 'ok')));
    assert.deepEqual(notRunLines(on(K61, K612), 1, results), []);
  });

  it('the missing cells of a kernel by id, and "all" for a kernel that ran none', () => {
    const results = [run(K61, at(cells, 0, 'the first cell'), 'ok'), run(K61, at(cells, 2, 'the third cell'), 'panic')];
    assert.deepEqual(notRunLines(on(K61, K612), 1, results), [
      `${K61}: did not run: ${at(cells, 1, 'the second cell').id}`,
      `${K612}: did not run: all 3 cell(s)`,
    ]);
  });

  it('with rounds, a cell short of a result in some round is named', () => {
    const results = [
      ...cells.map((c) => run(K61, c, 'ok')),
      run(K61, at(cells, 0, 'the first cell'), 'ok'),
      run(K61, at(cells, 1, 'the second cell'), 'ok'),
    ];
    assert.deepEqual(notRunLines(on(K61), 2, results), [`${K61}: did not run in every round: ${at(cells, 2, 'the third cell').id}`]);
  });

  it('a cell not applicable on a kernel is not missing there', () => {
    const applicable = new Map([
      [K61, { cells }],
      [K612, { cells: cells.slice(0, 1) }],
    ]);
    const results = [...cells.map((c) => run(K61, c, 'ok')), run(K612, at(cells, 0, 'the first cell'), 'ok')];
    assert.deepEqual(notRunLines(applicable, 1, results), []);
  });
});
