/** lib/harden/stress-schema: a stress process's configuration, checked in its main thread before it starts. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { parseStressConfig, type StressWorkerConfig } from '../../lib/harden/stress-schema';

const CONFIG: StressWorkerConfig = {
  mode: 'shared',
  process: 1,
  threads: 2,
  slotThreads: 2,
  durationMs: 100,
  seed: 7,
  pairs: [
    { alloc: 'vmalloc_user', method: 'remap_vmalloc_range', cache: 'wb', faultAround: false },
    { alloc: 'kmalloc', method: 'fault_page', cache: 'wb', faultAround: true },
  ],
  size: 65536,
  regionBytes: 8192,
};

describe('stress process configuration (lib/harden/stress-schema.ts)', function () {
  it('reads a configuration back as written', function () {
    assert.deepEqual(parseStressConfig(JSON.stringify(CONFIG)), CONFIG);
  });

  it('refuses a malformed one with EMALFORMED naming the place', function () {
    const bad = { ...CONFIG, pairs: [CONFIG.pairs[0], { ...CONFIG.pairs[1], cache: 'wt' }] };
    assert.throws(() => parseStressConfig(JSON.stringify(bad)), {
      code: 'EMALFORMED',
      message: `the stress process's configuration: pairs[1].cache: expected one of "wb", "wc", "uc", got string "wt"`,
    });
    assert.throws(() => parseStressConfig('{'), { code: 'EMALFORMED', message: /^the stress process's configuration is not JSON: / });
  });

  it('a stress process given a malformed configuration says so and exits 1, before any thread starts', function () {
    const worker = path.join(REPO_ROOT, 'dist', 'lib', 'harden', 'stress-worker.js');
    const r = spawnSync(process.execPath, [worker, JSON.stringify({ ...CONFIG, threads: 'two' })], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /the stress process's configuration: threads: expected number, got string "two"/);
    assert.equal(r.stdout, '');
  });
});
