import { strict as assert } from 'node:assert';
import { median, stat } from '../../lib/bench/stat';
import { assertDeviceError } from './device-asserts';

describe('bench stat() (lib/bench/stat.ts)', () => {
  it('summarises an odd count: the middle value', () => {
    assert.deepEqual(stat([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
  });

  it('summarises an even count: the mean of the two middle values', () => {
    assert.deepEqual(stat([10, 2, 4, 8]), { median: 6, min: 2, max: 10, n: 4 });
  });

  it('one value is its own median, min and max', () => {
    assert.deepEqual(stat([7]), { median: 7, min: 7, max: 7, n: 1 });
  });

  it('sorts numerically, not as strings', () => {
    assert.deepEqual(stat([100, 9, 20]), { median: 20, min: 9, max: 100, n: 3 });
  });

  it('leaves its input alone', () => {
    const v = [3, 1, 2];
    stat(v);
    assert.deepEqual(v, [3, 1, 2]);
  });

  it('median() is stat().median', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('refuses an empty list and values that are not finite numbers', () => {
    assertDeviceError(() => stat([]), 'ENOVALUES');
    assertDeviceError(() => stat([1, Number.NaN]), 'EBADVALUE');
    assertDeviceError(() => stat([Number.POSITIVE_INFINITY]), 'EBADVALUE');
  });
});
