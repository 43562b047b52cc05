import * as assert from 'node:assert/strict';
import { suiteGroups, timeByFile } from '../../lib/runner/host-suite';
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

describe('suiteGroups', () => {
  const dir = '/x/dist/test/guest';
  const f = (name: string): string => `${dir}/${name}`;

  it('runs the stress suite in a VM of its own, after the others, which share one', () => {
    const groups = suiteGroups([f('10-module.test.js'), f('70-leak.test.js'), f('75-stress.test.js'), f('90-hazard.test.js')]);
    assert.deepEqual(groups, [[f('10-module.test.js'), f('70-leak.test.js'), f('90-hazard.test.js')], [f('75-stress.test.js')]]);
  });

  it('a selection of only the stress suite is one group, and one without it is one group', () => {
    assert.deepEqual(suiteGroups([f('75-stress.test.js')]), [[f('75-stress.test.js')]]);
    assert.deepEqual(suiteGroups([f('40-files.test.js')]), [[f('40-files.test.js')]]);
  });
});
