import * as assert from 'node:assert/strict';
import { vmstatCounter } from '../../lib/harden/stress';

describe('stress start-up memory figures', function () {
  const vmstat = 'pgfault 912\npgmajfault 41\nworkingset_refault_anon 3\nworkingset_refault_file 17\n';

  it('reads a /proc/vmstat counter by its whole name', function () {
    assert.equal(vmstatCounter(vmstat, 'pgmajfault'), 41);
    assert.equal(vmstatCounter(vmstat, 'workingset_refault_file'), 17);
  });

  it('a counter the kernel does not have reads 0, and a prefix is not a match', function () {
    assert.equal(vmstatCounter(vmstat, 'workingset_refault'), 0);
    assert.equal(vmstatCounter(vmstat, 'pgmaj'), 0);
  });
});
