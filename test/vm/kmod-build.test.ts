/**
 * mmaplab.ko must build without a single compiler warning on every default
 * kernel, and DKMS (scripts/lab-install.sh with kmod/dkms.conf, as a lab
 * machine installs it) must build it too.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { packageVersion } from '../../lib/util/package-json';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { compilerWarnings, ensureModule, lastBuildLog } from '../../lib/vm/kmod';
import { installedKernel } from '../installed-kernel';

describe('mmaplab.ko build', function () {
  this.timeout(300_000);
  for (const { series } of REQUIRED_SERIES) {
    const installed = installedKernel(series);
    it(`builds warning-free against the headers of ${installed.title}`, function () {
      const kernel = installed.get();
      const built = ensureModule(kernel);
      const log = built.cached ? lastBuildLog(kernel) : built.log;
      assert.ok(log !== null && log.includes('mmaplab.ko'), `no build log for ${kernel.release}`);
      assert.deepEqual(compilerWarnings(log), [], `warnings building for ${kernel.release}`);
    });
  }
});

describe('mmaplab.ko through DKMS (scripts/lab-install.sh)', function () {
  this.timeout(300_000);
  for (const { series } of REQUIRED_SERIES) {
    const installed = installedKernel(series);
    it(`dkms builds it from kmod/dkms.conf for ${installed.title}`, function () {
      const kernel = installed.get();
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-dkms-'));
      try {
        const r = spawnSync('sh', [path.join(REPO_ROOT, 'scripts', 'lab-install.sh')], {
          env: { ...process.env, MMAPLAB_DKMS_ROOT: root, MMAPLAB_DKMS_KERNEL: kernel.release },
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        const dir = path.join(root, 'dkms', 'mmaplab', packageVersion(), kernel.release, 'x86_64', 'module');
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('mmaplab.ko')).length, 1, `a module in ${dir}`);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
