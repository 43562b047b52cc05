/**
 * lib/fuzz/minimise: delta debugging on synthetic predicates. With enough
 * tests it finds a 1-minimal failing subsequence; its budget bounds the
 * calls; hints are tried first; nothing is tested twice.
 */
import { strict as assert } from 'node:assert';
import { minimise } from '../../lib/fuzz/minimise';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const contains =
  (...needles: number[]) =>
  async (c: number[]): Promise<boolean> =>
    needles.every((x) => c.includes(x));

describe('fuzz minimiser (ddmin)', () => {
  it('finds the single operation that fails', async () => {
    const r = await minimise(range(100), contains(37), { maxTests: 1000 });
    assert.deepEqual(r.items, [37]);
    assert.equal(r.complete, true);
  });

  it('finds a pair far apart, in order', async () => {
    const r = await minimise(range(200), contains(3, 170), { maxTests: 1000 });
    assert.deepEqual(r.items, [3, 170]);
    assert.equal(r.complete, true);
  });

  it('finds a scattered set of five', async () => {
    const needles = [0, 13, 14, 88, 255];
    const r = await minimise(range(256), contains(...needles), { maxTests: 2000 });
    assert.deepEqual(r.items, needles);
  });

  it('an order-dependent failure (open before use) keeps its order', async () => {
    // Fails when an "open" (1) is followed later by a "use" (7) of it.
    const seq = [5, 7, 2, 1, 9, 9, 3, 7, 4, 1, 8];
    const fails = async (c: number[]): Promise<boolean> => {
      const open = c.indexOf(1);
      return open >= 0 && c.indexOf(7, open) > open;
    };
    const r = await minimise(seq, fails, { maxTests: 500 });
    assert.deepEqual(r.items, [1, 7]);
  });

  it('the result is 1-minimal: removing any element loses the failure', async () => {
    // Fails when the sum of the kept elements is at least 100.
    const items = [40, 3, 25, 60, 1, 33, 7, 50, 2];
    const fails = async (c: number[]): Promise<boolean> => c.reduce((a, b) => a + b, 0) >= 100;
    const r = await minimise(items, fails, { maxTests: 1000 });
    assert.ok(await fails(r.items));
    for (let i = 0; i < r.items.length; i++) {
      assert.equal(await fails(r.items.filter((_, j) => j !== i)), false, `without ${r.items[i]}`);
    }
    assert.equal(r.complete, true);
  });

  it('keeps equal elements at different places apart', async () => {
    const items = ['a', 'x', 'a', 'x', 'a'];
    const r = await minimise(items, async (c) => c.filter((x) => x === 'a').length >= 2, { maxTests: 200 });
    assert.deepEqual(r.items, ['a', 'a']);
  });

  it('never calls reproduces more than maxTests times, and says it stopped early', async () => {
    let calls = 0;
    const r = await minimise(
      range(1000),
      async (c) => {
        calls++;
        return c.includes(1) && c.includes(500) && c.includes(999);
      },
      { maxTests: 7 },
    );
    assert.equal(calls, 7);
    assert.equal(r.tests, 7);
    assert.equal(r.complete, false);
    for (const x of [1, 500, 999]) assert.ok(r.items.includes(x), 'what it returns still fails');
  });

  it('never tests the same candidate twice, nor the input itself', async () => {
    const seen = new Set<string>();
    await minimise(
      range(64),
      async (c) => {
        const key = c.join(',');
        assert.ok(!seen.has(key), `tested twice: ${key}`);
        assert.notEqual(c.length, 64, 'the input is known to fail');
        seen.add(key);
        return c.includes(10) && c.includes(11);
      },
      { maxTests: 1000 },
    );
  });

  it('tries the hints first, each on the list as the ones before left it', async () => {
    const tested: number[][] = [];
    const r = await minimise(
      range(1000),
      async (c) => {
        tested.push(c);
        return c.includes(998);
      },
      {
        maxTests: 1000,
        hints: [(c) => c.slice(-1), (c) => c.filter((x) => x % 2 === 0), (c) => c.slice(-5)],
      },
    );
    assert.deepEqual(tested[0], [999]);
    assert.deepEqual(
      tested[1],
      range(1000).filter((x) => x % 2 === 0),
    );
    assert.deepEqual(tested[2], [990, 992, 994, 996, 998], 'the third hint saw what the second left');
    assert.deepEqual(r.items, [998]);
    assert.ok(r.tests < 12, `the hints saved work: ${r.tests} tests`);
  });

  it('ignores a hint that is not a shorter subsequence of the list', async () => {
    const tested: number[][] = [];
    await minimise(
      [1, 2, 3, 4],
      async (c) => {
        tested.push(c);
        return c.includes(2);
      },
      { maxTests: 50, hints: [() => [4, 1], () => [5], (c) => [...c]] },
    );
    assert.ok(!tested.some((c) => c.join() === '4,1' || c.join() === '5'));
  });

  it('an empty list can be the answer (the failure needs no operation at all)', async () => {
    const r = await minimise([1, 2, 3], async () => true, { maxTests: 50 });
    assert.deepEqual(r.items, []);
  });

  it('reports every test to onTest', async () => {
    const log: Array<[number, boolean, number]> = [];
    const r = await minimise(range(16), contains(5), { maxTests: 100, onTest: (c, ok, n) => log.push([c.length, ok, n]) });
    assert.equal(log.length, r.tests);
    assert.deepEqual(
      log.map((x) => x[2]),
      range(r.tests).map((i) => i + 1),
    );
  });
});
