/**
 * lib/vm/kernels on fake /boot and /lib/modules trees in a temporary
 * directory: which kernels are usable, which are the defaults, and what the
 * errors tell people to install.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KFENCE_CMDLINE, profileCmdline } from '../../lib/runner/cell-vms';
import {
  defaultKernels,
  discoverKernels,
  isSeries,
  kernelFromPaths,
  packagesFor,
  REQUIRED_SERIES,
  requiredKernel,
  selectKernels,
  seriesOf,
  DEFAULT_ROOTS,
  type Kernel,
  type KernelRoots,
} from '../../lib/vm/kernels';
import { caught } from './caught';
import { installedKernel } from '../installed-kernel';

function touch(file: string, content = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Installed with headers, in directory order that is not version order. */
const WITH_HEADERS = ['6.12.57+deb12-amd64', '6.1.0-9-amd64', '6.12.117+deb12-amd64', '6.1.0-56-amd64'];
/** Image only: linux-headers-X missing (one never had them, one lost them). */
const NEVER_HAD_HEADERS = '6.1.0-10-amd64';
const LOST_HEADERS = '6.11.5+bpo-amd64';
const WITHOUT_HEADERS = [NEVER_HAD_HEADERS, LOST_HEADERS];

describe('installed kernels', () => {
  let tmp: string;
  let roots: KernelRoots;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-kernels-'));
    roots = { boot: path.join(tmp, 'boot'), modules: path.join(tmp, 'lib', 'modules') };
    for (const r of WITH_HEADERS) {
      touch(path.join(roots.boot, `vmlinuz-${r}`), 'bzImage');
      touch(path.join(roots.boot, `config-${r}`));
      touch(path.join(roots.boot, `System.map-${r}`));
      touch(path.join(roots.boot, `initrd.img-${r}`));
      touch(path.join(roots.modules, r, 'build', 'Makefile'), 'include ...\n');
      touch(path.join(roots.modules, r, 'modules.dep'));
    }
    // Never had headers: modules dir without build/.
    touch(path.join(roots.boot, `vmlinuz-${NEVER_HAD_HEADERS}`), 'bzImage');
    touch(path.join(roots.modules, NEVER_HAD_HEADERS, 'modules.dep'));
    // Headers removed: Debian's build -> /usr/src/linux-headers-X symlink dangles.
    touch(path.join(roots.boot, `vmlinuz-${LOST_HEADERS}`), 'bzImage');
    fs.mkdirSync(path.join(roots.modules, LOST_HEADERS), { recursive: true });
    fs.symlinkSync(path.join(tmp, 'usr', 'src', 'gone'), path.join(roots.modules, LOST_HEADERS, 'build'));
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('seriesOf keeps major.minor of a release', () => {
    assert.equal(seriesOf('6.1.0-56-amd64'), '6.1');
    assert.equal(seriesOf('6.12.117+deb12-amd64'), '6.12');
    assert.equal(seriesOf('6.13.0-rc1'), '6.13');
    assert.equal(seriesOf('custom'), 'custom');
  });

  it('packagesFor names the image and headers packages of a release', () => {
    assert.deepEqual(packagesFor('6.1.0-56-amd64'), {
      image: 'linux-image-6.1.0-56-amd64',
      headers: 'linux-headers-6.1.0-56-amd64',
    });
  });

  it('discoverKernels lists kernels with a kbuild tree as usable, in version order', () => {
    const d = discoverKernels(roots);
    assert.deepEqual(
      d.usable.map((k) => k.release),
      ['6.1.0-9-amd64', '6.1.0-56-amd64', '6.12.57+deb12-amd64', '6.12.117+deb12-amd64'],
    );
    const k = d.usable.find((u) => u.release === '6.12.117+deb12-amd64');
    assert.deepEqual(k, {
      release: '6.12.117+deb12-amd64',
      image: path.join(roots.boot, 'vmlinuz-6.12.117+deb12-amd64'),
      buildDir: path.join(roots.modules, '6.12.117+deb12-amd64', 'build'),
      modulesDir: path.join(roots.modules, '6.12.117+deb12-amd64'),
      series: '6.12',
      origin: 'installed',
    });
  });

  it('discoverKernels lists kernels whose headers are missing or dangling separately', () => {
    assert.deepEqual(discoverKernels(roots).withoutHeaders, ['6.1.0-10-amd64', '6.11.5+bpo-amd64']);
  });

  it('discoverKernels finds nothing when the boot directory does not exist', () => {
    assert.deepEqual(discoverKernels({ boot: path.join(tmp, 'nope'), modules: roots.modules }), {
      usable: [],
      withoutHeaders: [],
    });
  });

  it('the default kernels are the newest usable kernel of each series', () => {
    assert.deepEqual(
      defaultKernels(discoverKernels(roots)).map((k) => k.release),
      ['6.1.0-56-amd64', '6.12.117+deb12-amd64'],
    );
    assert.deepEqual(
      selectKernels({ releases: [], paths: [] }, roots).map((k) => k.release),
      ['6.1.0-56-amd64', '6.12.117+deb12-amd64'],
    );
  });

  it('--kernel selects installed kernels in the order given, older ones included', () => {
    const ks = selectKernels({ releases: ['6.12.57+deb12-amd64', '6.1.0-9-amd64'], paths: [] }, roots);
    assert.deepEqual(
      ks.map((k) => [k.release, k.series, k.origin]),
      [
        ['6.12.57+deb12-amd64', '6.12', 'installed'],
        ['6.1.0-9-amd64', '6.1', 'installed'],
      ],
    );
  });

  it('--kernel SERIES selects the default kernel of that series, not an older one left installed', () => {
    const ks = selectKernels({ releases: ['6.12', '6.1'], paths: [] }, roots);
    assert.deepEqual(
      ks.map((k) => [k.release, k.series]),
      [
        ['6.12.117+deb12-amd64', '6.12'],
        ['6.1.0-56-amd64', '6.1'],
      ],
    );
    assert.deepEqual(requiredKernel('6.1', roots).release, '6.1.0-56-amd64');
  });

  it('--kernel SERIES with no kernel of that series is ENOKERNEL naming the packages to install', () => {
    const err = caught(() => selectKernels({ releases: ['6.12'], paths: [] }, { boot: path.join(tmp, 'missing'), modules: tmp }));
    assert.equal(err.code, 'ENOKERNEL');
    assert.deepEqual(err.details, { series: '6.12' });
    assert.match(err.message, /no 6\.12 kernel with headers is installed/);
    assert.ok(err.message.includes('apt-get install linux-image-6.12-amd64 linux-headers-6.12-amd64'), err.message);
    const other = caught(() => selectKernels({ releases: ['5.10'], paths: [] }, roots));
    assert.equal(other.code, 'ENOKERNEL');
    for (const r of WITH_HEADERS) assert.ok(other.message.includes(`\n  ${r}`), `lists ${r}:\n${other.message}`);
  });

  it('--kernel SERIES whose only kernel lacks headers is ENOHEADERS naming linux-headers-X', () => {
    const err = caught(() => selectKernels({ releases: ['6.11'], paths: [] }, roots));
    assert.equal(err.code, 'ENOHEADERS');
    assert.ok(err.message.includes('apt-get install linux-headers-6.11.5+bpo-amd64'), err.message);
  });

  it('isSeries tells a series from a release', () => {
    for (const v of ['6.1', '6.12', '10.0']) assert.equal(isSeries(v), true, v);
    for (const v of ['6.1.0-57-amd64', '6.12.117+deb12-amd64', '6', '6.1-rt', '']) assert.equal(isSeries(v), false, v);
  });

  it('an unknown --kernel is ENOKERNEL listing the installed kernels and the apt-get line', () => {
    const err = caught(() => selectKernels({ releases: ['6.1.0-99-amd64'], paths: [] }, roots));
    assert.equal(err.code, 'ENOKERNEL');
    assert.deepEqual(err.details, { release: '6.1.0-99-amd64' });
    assert.match(err.message, /kernel 6\.1\.0-99-amd64 is not installed/);
    for (const r of WITH_HEADERS) assert.ok(err.message.includes(`\n  ${r}`), `lists ${r}:\n${err.message}`);
    assert.ok(err.message.includes('apt-get install linux-image-6.1.0-99-amd64 linux-headers-6.1.0-99-amd64'), err.message);
  });

  it('an installed --kernel without headers is ENOHEADERS naming linux-headers-X', () => {
    for (const r of WITHOUT_HEADERS) {
      const err = caught(() => selectKernels({ releases: [r], paths: [] }, roots));
      assert.equal(err.code, 'ENOHEADERS');
      assert.deepEqual(err.details, { release: r });
      assert.ok(err.message.includes(`apt-get install linux-headers-${r}`), err.message);
      assert.ok(!err.message.includes('linux-image'), 'the image is already installed');
    }
  });

  it('no usable kernel at all is ENOKERNEL pointing at scripts/setup-host.sh', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    for (const r of [
      { boot: empty, modules: empty },
      { boot: path.join(tmp, 'missing'), modules: empty },
    ]) {
      const err = caught(() => selectKernels({ releases: [], paths: [] }, r));
      assert.equal(err.code, 'ENOKERNEL');
      assert.match(err.message, /scripts\/setup-host\.sh/);
    }
    // Kernels without headers only: still nothing to run.
    const err = caught(() => selectKernels({ releases: [], paths: [] }, { boot: roots.boot, modules: path.join(tmp, 'no-modules') }));
    assert.equal(err.code, 'ENOKERNEL');
  });

  it('an unknown --kernel on a machine with no kernels lists "(none)"', () => {
    const err = caught(() => selectKernels({ releases: ['6.1.0-56-amd64'], paths: [] }, { boot: path.join(tmp, 'missing'), modules: tmp }));
    assert.equal(err.code, 'ENOKERNEL');
    assert.match(err.message, /Installed kernels with headers:\n {2}\(none\)\n/);
  });
});

describe('self-built kernels', () => {
  let tmp: string;
  let image: string;
  let build: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-selfbuilt-'));
    image = path.join(tmp, 'linux', 'arch', 'x86', 'boot', 'bzImage');
    build = path.join(tmp, 'linux');
    touch(image, 'bzImage');
    touch(path.join(build, 'include', 'config', 'kernel.release'), '6.13.0-rc1-mmaplab+\n');
    touch(path.join(tmp, 'mods', 'modules.dep'), 'kernel/fs/9p/9p.ko:\n');
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('kernelFromPaths reads the release from include/config/kernel.release', () => {
    assert.deepEqual(kernelFromPaths(image, build), {
      release: '6.13.0-rc1-mmaplab+',
      image,
      buildDir: build,
      modulesDir: null,
      series: '6.13',
      origin: 'path',
    });
    assert.equal(kernelFromPaths(image, build, path.join(tmp, 'mods')).modulesDir, path.join(tmp, 'mods'));
  });

  it('kernelFromPaths rejects a missing image with ENOKERNEL', () => {
    const err = caught(() => kernelFromPaths(path.join(tmp, 'bzImage.missing'), build));
    assert.equal(err.code, 'ENOKERNEL');
    assert.ok(err.message.includes('bzImage.missing'));
  });

  it('kernelFromPaths rejects a build directory that is not a configured tree with ENOHEADERS', () => {
    const err = caught(() => kernelFromPaths(image, tmp));
    assert.equal(err.code, 'ENOHEADERS');
    assert.match(err.message, /no include\/config\/kernel\.release/);
  });

  it('kernelFromPaths rejects a modules directory without modules.dep with ENOMODULES', () => {
    const err = caught(() => kernelFromPaths(image, build, tmp));
    assert.equal(err.code, 'ENOMODULES');
    assert.match(err.message, /has no modules\.dep \(run depmod/);
  });

  it('selectKernels takes --kernel-image/--kernel-build kernels instead of the defaults', () => {
    const noInstalled: KernelRoots = { boot: path.join(tmp, 'no-boot'), modules: path.join(tmp, 'no-modules') };
    const ks = selectKernels({ releases: [], paths: [{ image, buildDir: build }] }, noInstalled);
    assert.deepEqual(
      ks.map((k) => [k.release, k.origin]),
      [['6.13.0-rc1-mmaplab+', 'path']],
    );
  });
});

describe('default kernel choice with flavours', function () {
  it('a cloud or rt flavour never displaces the generic kernel of its series', function () {
    const mk = (release: string): Kernel => ({
      release,
      image: `/boot/vmlinuz-${release}`,
      buildDir: '/b',
      modulesDir: '/m',
      series: seriesOf(release),
      origin: 'installed',
    });
    const usable = ['6.1.0-56-amd64', '6.1.0-56-cloud-amd64', '6.1.0-56-rt-amd64', '6.12.117+deb12-amd64', '6.12.117+deb12-rt-amd64'].map(
      mk,
    );
    usable.sort((a, b) => a.release.localeCompare(b.release, 'en', { numeric: true }));
    assert.deepEqual(
      defaultKernels({ usable, withoutHeaders: [] }).map((k) => k.release),
      ['6.1.0-56-amd64', '6.12.117+deb12-amd64'],
    );
  });

  it('a flavour or a built kernel is never a default, even as the only kernel of its series: it runs when named', function () {
    const cloud: Kernel = {
      release: '6.1.0-56-cloud-amd64',
      image: '/i',
      buildDir: '/b',
      modulesDir: '/m',
      series: '6.1',
      origin: 'installed',
    };
    const slab: Kernel = { release: '6.1.192-mmaplab-slab', image: '/i', buildDir: '/b', modulesDir: null, series: '6.1', origin: 'built' };
    assert.deepEqual(defaultKernels({ usable: [cloud, slab], withoutHeaders: [] }), []);
  });
});

describe('boot profiles (lib/vm/session.ts)', function () {
  const fake = (release: string) => ({
    release,
    image: '',
    buildDir: '/nonexistent',
    modulesDir: null,
    series: '6.1',
    origin: 'path' as const,
  });

  it('poison adds page poisoning, init_on_free and slub_debug; without a config, no KFENCE', function () {
    assert.deepEqual(profileCmdline('default', fake('none')), []);
    assert.deepEqual(profileCmdline('poison', fake('no-config-anywhere')), ['page_poison=1', 'init_on_free=1', 'slub_debug=FZPU']);
  });

  for (const { series } of REQUIRED_SERIES) {
    const kernel = installedKernel(series);
    it(`poison adds KFENCE exactly when the ${kernel.title} config has CONFIG_KFENCE=y`, function () {
      const k = kernel.get();
      const config = fs.readFileSync(path.join(DEFAULT_ROOTS.boot, `config-${k.release}`), 'utf8');
      const words = profileCmdline('poison', { ...k, buildDir: '/nonexistent' });
      assert.equal(words.includes(KFENCE_CMDLINE), /^CONFIG_KFENCE=y$/m.test(config), k.release);
    });
  }
});
