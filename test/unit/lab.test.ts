/**
 * lib/runner/lab: a lab machine's running kernel found through
 * /lib/modules/RELEASE/build alone (no /boot), what to install for its
 * headers per distribution, and the advice for insmod's Secure Boot refusal.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInstalledPackage, placesFor, REPO_ROOT } from '../../lib/paths';
import { packageVersion } from '../../lib/util/package-json';
import { headersInstallHint, insmodAdvice, osIds, runningKernel } from '../../lib/runner/lab';
import { caught } from './caught';

const UBUNTU = 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const FEDORA = 'NAME="Fedora Linux"\nVERSION_ID=41\nID=fedora\n';
const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';
const ROCKY = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';

describe('lab machines (lib/runner/lab.ts)', function () {
  it('reads ID and ID_LIKE from os-release, quoted or not', function () {
    assert.deepEqual(osIds(UBUNTU), ['ubuntu', 'debian']);
    assert.deepEqual(osIds(ROCKY), ['rocky', 'rhel', 'centos', 'fedora']);
    assert.deepEqual(osIds(''), []);
  });

  it('names the headers package per distribution', function () {
    const r = '6.8.0-45-generic';
    assert.equal(headersInstallHint(r, osIds(UBUNTU)), `apt-get install linux-headers-${r}`);
    assert.equal(headersInstallHint('6.11.4-301.fc41.x86_64', osIds(FEDORA)), 'dnf install kernel-devel-6.11.4-301.fc41.x86_64');
    assert.equal(headersInstallHint('5.14.0-427.el9.x86_64', osIds(ROCKY)), 'dnf install kernel-devel-5.14.0-427.el9.x86_64');
    assert.match(headersInstallHint('6.1.0-x', []), /so that \/lib\/modules\/6\.1\.0-x\/build exists$/);
  });

  describe('the running kernel', function () {
    let root: string;
    before(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-lab-'));
      fs.mkdirSync(path.join(root, '6.11.4-301.fc41.x86_64', 'build'), { recursive: true });
      fs.writeFileSync(path.join(root, '6.11.4-301.fc41.x86_64', 'build', 'Makefile'), '');
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it('is found by its kbuild tree alone, with no image in /boot', function () {
      const k = runningKernel(root, '6.11.4-301.fc41.x86_64', FEDORA);
      assert.deepEqual(
        { release: k.release, buildDir: k.buildDir, series: k.series, image: k.image },
        { release: '6.11.4-301.fc41.x86_64', buildDir: path.join(root, '6.11.4-301.fc41.x86_64', 'build'), series: '6.11', image: '' },
      );
    });

    it('without headers is ENOHEADERS with the command for this distribution', function () {
      const fedora = caught(() => runningKernel(root, '6.12.9-200.fc41.x86_64', FEDORA));
      assert.equal(fedora.code, 'ENOHEADERS');
      assert.match(fedora.message, /: dnf install kernel-devel-6\.12\.9-200\.fc41\.x86_64$/);
      assert.match(
        caught(() => runningKernel(root, '6.8.0-45-generic', UBUNTU)).message,
        /: apt-get install linux-headers-6\.8\.0-45-generic$/,
      );
      assert.match(
        caught(() => runningKernel(root, '6.1.0-57-amd64', DEBIAN)).message,
        /^no headers for the running kernel 6\.1\.0-57-amd64 \(/,
      );
    });
  });

  it("explains Secure Boot's refusal with the signing steps, and nothing for other errors", function () {
    const said = 'insmod: ERROR: could not insert module /tmp/mmaplab.ko: Key was rejected by service';
    const advice = insmodAdvice(said, '/tmp/mmaplab.ko') ?? '';
    assert.match(advice, /^this kernel only loads signed modules \(Secure Boot\)/);
    assert.match(advice, /mokutil --import MOK\.der/);
    assert.match(advice, /scripts\/sign-file sha256 MOK\.priv MOK\.der \/tmp\/mmaplab\.ko/);
    assert.match(advice, /mokutil --import \/var\/lib\/dkms\/mok\.pub/);
    assert.equal(insmodAdvice('insmod: ERROR: could not insert module x.ko: Invalid module format', 'x.ko'), null);
  });

  it("kmod/dkms.conf names the module and package.json's version", function () {
    const conf = fs.readFileSync(path.join(REPO_ROOT, 'kmod', 'dkms.conf'), 'utf8');
    assert.match(conf, /^PACKAGE_NAME="mmaplab"$/m);
    assert.match(conf, /^BUILT_MODULE_NAME\[0\]="mmaplab"$/m);
    assert.equal(/^PACKAGE_VERSION="([^"]*)"$/m.exec(conf)?.[1], packageVersion());
  });
});

describe('cache and run directories (lib/paths.ts)', function () {
  const root = '/src/mmaplab';
  it('a checkout keeps its own .cache and runs', function () {
    assert.deepEqual(placesFor(root, true, {}, '/home/u'), { cache: '/src/mmaplab/.cache', runs: '/src/mmaplab/runs' });
  });

  it('an installed package uses the XDG locations, their defaults when unset, empty or relative', function () {
    const want = { cache: '/home/u/.cache/mmaplab', runs: '/home/u/.local/state/mmaplab/runs' };
    assert.deepEqual(placesFor(root, false, {}, '/home/u'), want);
    assert.deepEqual(placesFor(root, false, { XDG_CACHE_HOME: '', XDG_STATE_HOME: 'rel/state' }, '/home/u'), want);
    assert.deepEqual(placesFor(root, false, { XDG_CACHE_HOME: '/x/cache', XDG_STATE_HOME: '/x/state' }, '/home/u'), {
      cache: '/x/cache/mmaplab',
      runs: '/x/state/mmaplab/runs',
    });
  });

  it('a package is installed when its folder is in node_modules (scoped or not); a source tree, with .git or without, is not', function () {
    assert.equal(isInstalledPackage('/usr/lib/node_modules/mmaplab'), true);
    assert.equal(isInstalledPackage('/home/u/app/node_modules/@lab/mmaplab'), true);
    assert.equal(isInstalledPackage('/__w/mmaplab/mmaplab'), false);
    assert.equal(isInstalledPackage(REPO_ROOT), false);
  });

  it('MMAPLAB_CACHE and MMAPLAB_RUNS win over both', function () {
    const env = { MMAPLAB_CACHE: '/c', MMAPLAB_RUNS: '/r', XDG_CACHE_HOME: '/x' };
    assert.deepEqual(placesFor(root, false, env, '/h'), { cache: '/c', runs: '/r' });
    assert.deepEqual(placesFor(root, true, env, '/h'), { cache: '/c', runs: '/r' });
  });
});
