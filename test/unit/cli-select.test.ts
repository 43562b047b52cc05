/**
 * lib/cli/select: the matrix command's cells. Filters narrow the catalogue
 * (alternatives within an option, all options at once); --shard i/n then
 * takes every n-th cell of what is left.
 */
import { strict as assert } from 'node:assert';
import { defaultOptions, parseArgs, type CliOptions } from '../../lib/cli/args';
import { describeFilter, filterCells, selectCells, shardCells } from '../../lib/cli/select';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { MmaplabError } from '../../lib/util/errors';

const opts = (...argv: string[]): CliOptions => parseArgs(['matrix', ...argv]);

describe('matrix cell selection', () => {
  it('no filter selects the whole catalogue, in catalogue order', () => {
    assert.deepEqual(filterCells(defaultOptions()), [...CATALOGUE]);
  });

  it('each filter matches its CellSpec field', () => {
    const checks: Array<[string[], (c: (typeof CATALOGUE)[number]) => boolean]> = [
      [['--alloc', 'vmalloc_user'], (c) => c.alloc === 'vmalloc_user'],
      [['--method', 'fault_page'], (c) => c.method === 'fault_page'],
      [['--scenario', 'free-while-mapped'], (c) => c.scenario === 'free-while-mapped'],
      [['--size', '4K'], (c) => c.size === 4096],
      [['--profile', 'poison'], (c) => c.profile === 'poison'],
      [['--hazards', 'only'], (c) => c.hazard],
      [['--hazards', 'no'], (c) => !c.hazard],
      [['--cell', 'remap'], (c) => c.id.includes('remap')],
    ];
    for (const [argv, pred] of checks) {
      const got = filterCells(opts(...argv));
      assert.ok(got.length > 0, argv.join(' '));
      assert.deepEqual(got, CATALOGUE.filter(pred), argv.join(' '));
    }
  });

  it('values of one option are alternatives; different options must all match', () => {
    const either = filterCells(opts('--alloc', 'kmalloc', '--alloc', 'pages_comp'));
    assert.deepEqual(
      either,
      CATALOGUE.filter((c) => c.alloc === 'kmalloc' || c.alloc === 'pages_comp'),
    );
    const both = filterCells(opts('--alloc', 'kmalloc', '--method', 'fault_page', '--size', '4K'));
    assert.deepEqual(
      both.map((c) => c.id),
      CATALOGUE.filter((c) => c.alloc === 'kmalloc' && c.method === 'fault_page' && c.size === 4096).map((c) => c.id),
    );
    assert.ok(both.some((c) => c.id === 'kmalloc/fault_page/4K/basic'));
  });

  it('--hazards yes is every cell, and no + only split the catalogue', () => {
    const no = filterCells(opts('--hazards', 'no'));
    const only = filterCells(opts('--hazards', 'only'));
    assert.equal(no.length + only.length, CATALOGUE.length);
    assert.deepEqual(filterCells(opts('--hazards', 'yes')), [...CATALOGUE]);
  });

  it('--size 16K, 16KiB and 16384 select the same cells', () => {
    const a = filterCells(opts('--size', '16K'));
    assert.deepEqual(filterCells(opts('--size', '16KiB')), a);
    assert.deepEqual(filterCells(opts('--size', '16384')), a);
  });

  it('an allocator and a scenario together: vmalloc_user, basic', () => {
    const got = selectCells(opts('--alloc', 'vmalloc_user', '--scenario', 'basic'));
    assert.ok(got.length > 0);
    assert.ok(got.every((c) => c.alloc === 'vmalloc_user' && c.scenario === 'basic'));
    assert.ok(got.some((c) => c.id === 'vmalloc_user/remap_vmalloc_range/16K/basic'));
  });

  it('a selection of nothing is a usage error that repeats the filters', () => {
    try {
      selectCells(opts('--alloc', 'vmalloc', '--method', 'dma_mmap_coherent', '--size', '2M', '--hazards', 'only'));
      assert.fail('should have thrown');
    } catch (err) {
      assert.ok(err instanceof MmaplabError);
      assert.equal(err.code, 'EUSAGE');
      assert.equal(err.message.split('\n')[0], 'no cell matches --alloc vmalloc --method dma_mmap_coherent --size 2M --hazards only');
    }
  });

  it('describeFilter lists every filter given', () => {
    assert.equal(
      describeFilter(
        opts(
          '--cell',
          'x',
          '--alloc',
          'kmalloc',
          '--method',
          'fault_page',
          '--scenario',
          'basic',
          '--size',
          '16K',
          '--profile',
          'poison',
          '--hazards',
          'no',
        ),
      ),
      '--cell x --alloc kmalloc --method fault_page --scenario basic --size 16K --profile poison --hazards no',
    );
    assert.equal(describeFilter(defaultOptions()), '');
  });
});

describe('shards', () => {
  const items = Array.from({ length: 10 }, (_, k) => k);

  it('cell k goes to shard (k mod n) + 1', () => {
    assert.deepEqual(shardCells(items, { index: 1, count: 3 }), [0, 3, 6, 9]);
    assert.deepEqual(shardCells(items, { index: 2, count: 3 }), [1, 4, 7]);
    assert.deepEqual(shardCells(items, { index: 3, count: 3 }), [2, 5, 8]);
    assert.deepEqual(shardCells(items, { index: 1, count: 1 }), items);
    assert.deepEqual(shardCells(items, null), items);
  });

  it('for every n, the shards are disjoint, cover everything and differ in size by at most one', () => {
    const cells = filterCells(defaultOptions());
    for (const n of [1, 2, 3, 4, 7, 16, cells.length, cells.length + 5]) {
      const shards = Array.from({ length: n }, (_, i) => shardCells(cells, { index: i + 1, count: n }));
      const ids = shards.flat().map((c) => c.id);
      assert.equal(ids.length, cells.length, `n=${n}`);
      assert.equal(new Set(ids).size, cells.length, `n=${n}: disjoint`);
      const sizes = shards.map((s) => s.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: ${sizes.join(',')}`);
    }
  });

  it('is deterministic: the same filters and shard give the same cells', () => {
    const a = selectCells(opts('--method', 'fault_page', '--shard', '2/3')).map((c) => c.id);
    const b = selectCells(opts('--shard', '2/3', '--method', 'fault_page')).map((c) => c.id);
    assert.deepEqual(a, b);
  });

  it('is taken after the filters', () => {
    const filtered = filterCells(opts('--alloc', 'pages_array'));
    const mine = selectCells(opts('--alloc', 'pages_array', '--shard', '2/2'));
    assert.deepEqual(
      mine,
      filtered.filter((_, k) => k % 2 === 1),
    );
  });

  it('an empty shard is a usage error', () => {
    const one = filterCells(opts('--cell', 'kmalloc/fault_page/4K/write-first'));
    assert.equal(one.length, 1);
    assert.throws(
      () => selectCells(opts('--cell', 'kmalloc/fault_page/4K/write-first', '--shard', '2/2')),
      (err: unknown) =>
        err instanceof MmaplabError &&
        err.code === 'EUSAGE' &&
        /^shard 2\/2 is empty: the selection has only 1 cell\(s\)/.test(err.message),
    );
  });
});
