import * as assert from 'node:assert/strict';
import { timeByFile } from '../../lib/runner/host-suite';
import type { GuestTest } from '../../lib/vm/job';

function test(file: string | undefined, durationMs: number): GuestTest {
  return { title: 't', fullTitle: 't', state: 'passed', durationMs, ...(file ? { file } : {}) };
}

describe('timeByFile', () => {
  it('sums each file, longest first, with the total in front', () => {
    const line = timeByFile([
      test('10-module.test.js', 4_000),
      test('45-file-triggers.test.js', 100_000),
      test('10-module.test.js', 3_600),
      test('75-stress.test.js', 59_600),
    ]);
    assert.equal(line, '2m 47s in tests: 45-file-triggers 1m 40s, 75-stress 1m 0s, 10-module 8s');
  });

  it('names a test without a file "unknown" and breaks ties by name', () => {
    assert.equal(timeByFile([test('b.test.js', 1000), test(undefined, 1000)]), '2s in tests: b 1s, unknown 1s');
  });

  it('says 0s for no tests', () => {
    assert.equal(timeByFile([]), '0s in tests: ');
  });
});
