/** lib/util/pool: bounded concurrency, results in task order, failures after the running tasks settle. */
import { strict as assert } from 'node:assert';
import { runPool } from '../../lib/util/pool';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runPool', () => {
  it('never runs more than `jobs` tasks at once and keeps the task order in its results', async () => {
    let running = 0;
    let peak = 0;
    const tasks = [30, 5, 20, 1, 10].map((ms, i) => async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(ms);
      running--;
      return i;
    });
    assert.deepEqual(await runPool(tasks, 2), [0, 1, 2, 3, 4]);
    assert.equal(peak, 2);
  });

  it('with one job runs the tasks one after another, in order', async () => {
    const order: number[] = [];
    await runPool(
      [3, 1, 2].map((n) => async () => {
        order.push(n);
        await tick(n);
      }),
      1,
    );
    assert.deepEqual(order, [3, 1, 2]);
  });

  it('throws the first failure, starts nothing after it, and lets the running task finish', async () => {
    const started: number[] = [];
    let slowFinished = false;
    const tasks = [
      async () => {
        started.push(0);
        await tick(20);
        slowFinished = true;
      },
      async () => {
        started.push(1);
        throw new Error('boom');
      },
      async () => {
        started.push(2);
      },
    ];
    await assert.rejects(runPool(tasks, 2), /boom/);
    assert.equal(slowFinished, true);
    assert.deepEqual(started, [0, 1]);
  });

  it('refuses a job count below one', async () => {
    await assert.rejects(runPool([], 0), RangeError);
  });
});
