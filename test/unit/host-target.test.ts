/** --target host: what is refused before anything touches the machine, and cells not run after damage. */
import { strict as assert } from 'node:assert';
import { makeCell } from '../../lib/experiments/catalogue';
import { hostPreflight, notRun } from '../../lib/runner/host-target';
import { caught } from './caught';

describe('--target host preflight (lib/runner/host-target.ts)', function () {
  const safe = makeCell('vmalloc_user', 'remap_vmalloc_range', 16384);
  const hazard = makeCell('pages_nocomp', 'fault_page', 16384);
  const root = { uid: 0, modulesDisabled: false };

  it('refuses hazard cells unless --allow-hazards, naming one of them', function () {
    const err = caught(() => hostPreflight([safe, hazard], false, root));
    assert.equal(err.code, 'EHAZARD');
    assert.match(err.message, /pages_nocomp\/fault_page\/16K\/basic/);
    assert.match(err.message, /--allow-hazards/);
    hostPreflight([safe, hazard], true, root);
    hostPreflight([safe], false, root);
  });

  it('needs root and module loading', function () {
    assert.equal(caught(() => hostPreflight([safe], false, { uid: 1000, modulesDisabled: false })).code, 'ENOTROOT');
    assert.equal(caught(() => hostPreflight([safe], false, { uid: 0, modulesDisabled: true })).code, 'EMODLOAD');
  });

  it('cells after a damaging one are reported as not run (error), never as passed', function () {
    const r = notRun(safe, '6.1.0-56-amd64', 'x damaged the kernel');
    assert.deepEqual([r.verdict, r.detail, r.evidence.observation], ['error', 'not-run', null]);
    assert.match(r.headline, /reboot/);
  });
});
