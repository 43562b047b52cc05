/**
 * lib/vm/kernel-build without building anything: the configuration recipe
 * (modules left out, the edits as scripts/config arguments, the check that
 * they took), the cache key, and built kernels found, verified and selected
 * by name beside installed flavours (fake trees in a temporary directory).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sealFile, cacheLog } from '../../lib/util/verified-cache';
import {
  GUEST_EDITS,
  GUEST_TRIM,
  BUILD_PROFILES,
  discoverBuiltKernels,
  parseBuildName,
  recipeFor,
  recipeStatus,
  scriptsConfigArgs,
  unmetEdits,
  withoutModules,
  type BuiltManifest,
} from '../../lib/vm/kernel-build';
import { configValue } from '../../lib/vm/kernel-config';
import {
  discoverKernels,
  flavourOf,
  flavourPackages,
  kernelName,
  parseKernelName,
  selectKernels,
  type KernelRoots,
} from '../../lib/vm/kernels';
import { bootProblem, requireBootable } from '../../lib/vm/initramfs';
import { caught } from './caught';
import { at } from '../../lib/util/at';

function touch(file: string, content: string | Buffer = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

describe('kernel build recipe', () => {
  it('leaves every module out and keeps built-in options', () => {
    const base = 'CONFIG_EXT4_FS=m\nCONFIG_MMU=y\n# CONFIG_FOO is not set\nCONFIG_HZ=250\nCONFIG_9P_FS=m\n';
    assert.equal(
      withoutModules(base),
      '# CONFIG_EXT4_FS is not set\nCONFIG_MMU=y\n# CONFIG_FOO is not set\nCONFIG_HZ=250\n# CONFIG_9P_FS is not set\n',
    );
  });

  it('turns edits into scripts/config arguments', () => {
    assert.deepEqual(scriptsConfigArgs({ SLAB: 'y', SLUB: 'n', LOCALVERSION: { str: '-x' } }), [
      '--enable',
      'SLAB',
      '--disable',
      'SLUB',
      '--set-str',
      'LOCALVERSION',
      '-x',
    ]);
  });

  it('reads option values from a .config: y, m, unset, strings', () => {
    const cfg = 'CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S="-mmaplab-slab"\nCONFIG_N=17\n';
    assert.deepEqual(
      ['A', 'B', 'C', 'D', 'S', 'N'].map((o) => configValue(cfg, o)),
      ['y', 'm', 'n', 'n', '-mmaplab-slab', '17'],
    );
  });

  it('names each edit olddefconfig did not honour, and counts an absent string option as empty', () => {
    const cfg = 'CONFIG_SLAB=y\n# CONFIG_KASAN is not set\nCONFIG_LOCALVERSION="-mmaplab-slab"\n';
    assert.deepEqual(
      unmetEdits(cfg, { SLAB: 'y', SLUB: 'n', LOCALVERSION: { str: '-mmaplab-slab' }, SYSTEM_REVOCATION_KEYS: { str: '' } }),
      [],
    );
    assert.deepEqual(unmetEdits(cfg, { KASAN: 'y', LOCALVERSION: { str: '-other' } }), [
      'CONFIG_KASAN: asked "y", got "n"',
      'CONFIG_LOCALVERSION: asked "-other", got "-mmaplab-slab"',
    ]);
  });

  it('parses SERIES-PROFILE names, and only known profiles', () => {
    assert.deepEqual(parseBuildName('6.1-slab')?.series, '6.1');
    assert.equal(parseBuildName('6.12-debug')?.profile.name, 'debug');
    for (const bad of ['6.1', '6.1-rt', 'slab', '6.1.0-57-amd64', '6.1-SLAB']) assert.equal(parseBuildName(bad), null, bad);
    assert.deepEqual(
      BUILD_PROFILES.map((p) => [p.name, p.series]),
      [
        ['slab', ['6.1']],
        ['debug', ['6.1', '6.12']],
      ],
    );
  });

  describe('with a fake /usr/src', () => {
    let src: string;
    before(() => {
      src = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-src-'));
      touch(path.join(src, 'linux-source-6.1.tar.xz'), 'not really');
      touch(path.join(src, 'linux-config-6.1', 'config.amd64_none_amd64.xz'), 'base config one');
    });
    after(() => fs.rmSync(src, { recursive: true, force: true }));

    it('keys a recipe by the base configuration and the profile', () => {
      const slab = recipeFor('6.1', 'slab', { src });
      const debug = recipeFor('6.1', 'debug', { src });
      assert.match(slab.key, /^[0-9a-f]{16}$/);
      assert.notEqual(slab.key, debug.key);
      assert.equal(recipeFor('6.1', 'slab', { src }).key, slab.key);
      assert.deepEqual(slab.edits['LOCALVERSION'], { str: '-mmaplab-slab' });
      assert.equal(slab.edits['SLAB'], 'y');
      assert.equal(slab.edits['VIRTIO_PCI'], 'y');
      // The trim leaves out what the guest never reaches, but keeps the PVH entry Xen used to select.
      assert.deepEqual([slab.edits['XEN'], slab.edits['IPV6'], slab.edits['PVH']], ['n', 'n', 'y']);
      assert.deepEqual(
        Object.keys(GUEST_TRIM).filter((k) => k in GUEST_EDITS),
        [],
        'the trim overrides no guest edit',
      );
      for (const opt of ['DEBUG_VM', 'KASAN', 'SLAB', 'SLUB', 'PVH', 'VIRTIO_PCI']) {
        assert.ok(!(opt in GUEST_TRIM) || GUEST_TRIM[opt] === 'y', `the trim does not turn ${opt} off`);
      }
      touch(path.join(src, 'linux-config-6.1', 'config.amd64_none_amd64.xz'), 'base config two');
      assert.notEqual(recipeFor('6.1', 'slab', { src }).key, slab.key);
    });

    it('refuses a profile its series does not have, and says what to install for a missing source', () => {
      const e1 = caught(() => recipeFor('6.12', 'slab', { src }));
      assert.equal(e1.code, 'EUSAGE');
      assert.match(e1.message, /profile slab is for 6\.1, not 6\.12 \(SLAB was removed in 6\.8\)/);
      const e2 = caught(() => recipeFor('6.12', 'debug', { src }));
      assert.equal(e2.code, 'ENOSOURCE');
      assert.match(e2.message, /apt-get install linux-source-6\.12$/);
      assert.equal(caught(() => recipeFor('6.1', 'fast', { src })).code, 'EUSAGE');
    });

    it("tells a build from today's recipe from one of an older recipe, and says unknown without the source", () => {
      const today = recipeFor('6.1', 'debug', { src });
      const m: BuiltManifest = {
        name: '6.1-debug',
        release: '6.1.192-mmaplab-debug',
        series: '6.1',
        profile: 'debug',
        sourceVersion: today.sourceVersion,
        key: today.key,
        seconds: 1,
        builtAt: 'now',
      };
      assert.equal(recipeStatus(m, { src }), 'current');
      assert.equal(recipeStatus({ ...m, key: '0123456789abcdef' }, { src }), 'older');
      assert.equal(recipeStatus(m, { src: path.join(src, 'nowhere') }), 'unknown');
    });
  });
});

describe('flavours and built kernels by name', () => {
  let tmp: string;
  let roots: KernelRoots;
  const installed = ['6.1.0-57-amd64', '6.1.0-57-rt-amd64', '6.1.0-57-cloud-amd64', '6.12.118+deb12-amd64', '6.12.118+deb12-rt-amd64'];

  function builtEntry(name: string, manifest: BuiltManifest): string {
    const dir = path.join(roots.built as string, name);
    const image = path.join(dir, 'tree', 'arch', 'x86', 'boot', 'bzImage');
    // A bzImage without the EFI stub (the trim leaves EFI out): no "MZ", the boot protocol's "HdrS" at 0x202.
    const head = Buffer.alloc(0x260, 7);
    head.write('HdrS', 0x202, 'ascii');
    touch(image, head);
    sealFile(image);
    touch(path.join(dir, 'tree', 'Makefile'));
    touch(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return image;
  }

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-flavours-'));
    roots = { boot: path.join(tmp, 'boot'), modules: path.join(tmp, 'modules'), built: path.join(tmp, 'built') };
    for (const r of installed) {
      touch(path.join(roots.boot, `vmlinuz-${r}`), 'bzImage');
      touch(path.join(roots.modules, r, 'build', 'Makefile'));
    }
    const m = (profile: string, release: string): BuiltManifest => ({
      name: `6.1-${profile}`,
      release,
      series: '6.1',
      profile,
      sourceVersion: '6.1.192-3',
      key: 'k',
      seconds: 1,
      builtAt: 'now',
    });
    builtEntry('6.1-slab-aaaa', m('slab', '6.1.192-mmaplab-slab'));
    builtEntry('6.1-debug-bbbb', m('debug', '6.1.192-mmaplab-debug'));
    // A build that never finished: no manifest.
    touch(path.join(roots.built as string, '6.1-debug-cccc.partial-99', 'tree', 'Makefile'));
    // One whose manifest does not fit its schema: not a built kernel either.
    builtEntry('6.1-slab-eeee', { ...m('slab', '6.1.194-mmaplab-slab'), seconds: '1' } as unknown as BuiltManifest);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('tells flavours apart by release', () => {
    assert.deepEqual(['6.1.0-57-amd64', '6.1.0-57-rt-amd64', '6.12.118+deb12-cloud-amd64', '6.1.192-mmaplab-slab'].map(flavourOf), [
      'generic',
      'rt',
      'cloud',
      'slab',
    ]);
    assert.equal(kernelName({ release: '6.12.118+deb12-rt-amd64', series: '6.12' }), '6.12-rt');
    assert.equal(kernelName({ release: '6.1.0-57-amd64', series: '6.1' }), '6.1');
    assert.deepEqual(parseKernelName('6.12-rt'), { series: '6.12', flavour: 'rt' });
    assert.deepEqual(parseKernelName('6.1'), { series: '6.1', flavour: 'generic' });
    assert.equal(parseKernelName('6.1.0-57-amd64'), null);
  });

  it('finds finished builds, with their profile command line, and skips unfinished ones and malformed manifests', () => {
    const built = discoverBuiltKernels(roots.built);
    assert.deepEqual(
      built.map((b) => [b.kernel.release, b.kernel.origin, b.kernel.modulesDir]),
      [
        ['6.1.192-mmaplab-debug', 'built', null],
        ['6.1.192-mmaplab-slab', 'built', null],
      ],
    );
    assert.deepEqual(built[0]?.kernel.cmdline, ['page_owner=on']);
    assert.deepEqual(built[1]?.kernel.cmdline, []);
  });

  it('selects by series and flavour, Debian flavours and built profiles alike, generic by default', () => {
    const pick = (...names: string[]): string[] => selectKernels({ releases: names, paths: [] }, roots).map((k) => k.release);
    assert.deepEqual(pick('6.1', '6.1-rt', '6.1-cloud', '6.12-rt', '6.1-slab', '6.1-debug'), [
      '6.1.0-57-amd64',
      '6.1.0-57-rt-amd64',
      '6.1.0-57-cloud-amd64',
      '6.12.118+deb12-rt-amd64',
      '6.1.192-mmaplab-slab',
      '6.1.192-mmaplab-debug',
    ]);
    assert.deepEqual(pick('6.1.192-mmaplab-slab'), ['6.1.192-mmaplab-slab']);
    assert.deepEqual(
      selectKernels({ releases: [], paths: [] }, roots).map((k) => k.release),
      ['6.1.0-57-amd64', '6.12.118+deb12-amd64'],
    );
  });

  it('says what to install for a missing flavour, what to run for a missing build, and names unknown flavours', () => {
    const cloud = caught(() => selectKernels({ releases: ['6.12-cloud'], paths: [] }, roots));
    assert.equal(cloud.code, 'ENOKERNEL');
    assert.match(cloud.message, /no 6\.12-cloud kernel with headers is installed/);
    assert.match(cloud.message, /apt-get install linux-image-6\.12-cloud-amd64 linux-headers-6\.12-cloud-amd64$/);
    const debug = caught(() => selectKernels({ releases: ['6.12-debug'], paths: [] }, roots));
    assert.equal(debug.code, 'ENOKERNEL');
    assert.match(debug.message, /run mmaplab kernel build 6\.12-debug/);
    assert.equal(caught(() => selectKernels({ releases: ['6.1-fast'], paths: [] }, roots)).code, 'EUSAGE');
    assert.equal(flavourPackages('6.1', 'rt'), 'linux-image-rt-amd64 linux-headers-rt-amd64');
  });

  it('refuses, in one line naming what to use, a flavour without 9p (a cloud kernel); a built kernel has it built in', () => {
    const cloudModules = path.join(tmp, 'cloud-modules');
    touch(path.join(cloudModules, 'modules.dep'), 'kernel/drivers/block/virtio_blk.ko:\nkernel/fs/overlayfs/overlay.ko:\n');
    touch(path.join(cloudModules, 'modules.builtin'), 'kernel/drivers/virtio/virtio_pci.ko\n');
    const cloud = {
      release: '6.12.118+deb12-cloud-amd64',
      image: '/i',
      buildDir: '/b',
      modulesDir: cloudModules,
      series: '6.12',
      origin: 'installed' as const,
    };
    assert.equal(bootProblem(cloud), 'it has neither a module nor a built-in 9pnet_virtio');
    const e = caught(() => requireBootable(cloud));
    assert.equal(e.code, 'EUNBOOTABLE');
    assert.equal(e.message.split('\n').length, 1);
    assert.match(
      e.message,
      /^6\.12-cloud \(6\.12\.118\+deb12-cloud-amd64\) cannot run in mmaplab's VMs: it has neither a module nor a built-in 9pnet_virtio/,
    );
    assert.match(e.message, /--kernel 6\.12: apt-get install linux-image-6\.12-amd64 linux-headers-6\.12-amd64\) or the rt one$/);
    const built = discoverBuiltKernels(roots.built)[0]?.kernel;
    assert.ok(built !== undefined);
    assert.equal(bootProblem(built), null);
  });

  it('drops a built kernel whose image no longer matches its seal, with one line saying so', () => {
    const image = builtEntry('6.1-slab-dddd', {
      name: '6.1-slab',
      release: '6.1.193-mmaplab-slab',
      series: '6.1',
      profile: 'slab',
      sourceVersion: 'x',
      key: 'k2',
      seconds: 1,
      builtAt: 'now',
    });
    fs.appendFileSync(image, 'tampered');
    const lines: string[] = [];
    const write = cacheLog.write;
    cacheLog.write = (l) => lines.push(l);
    try {
      assert.deepEqual(
        discoverKernels(roots)
          .usable.filter((k) => k.origin === 'built')
          .map((k) => k.release),
        ['6.1.192-mmaplab-debug', '6.1.192-mmaplab-slab'],
      );
    } finally {
      cacheLog.write = write;
    }
    assert.equal(lines.length, 1);
    assert.match(at(lines, 0, 'the logged line'), /6\.1-slab kernel image .* is corrupt \(size/);
    assert.equal(fs.existsSync(path.join(roots.built as string, '6.1-slab-dddd')), false);
  });

  it('checks a built image by the boot protocol magic at 0x202, so a kernel without the EFI stub is kept', () => {
    const image = builtEntry('6.1-slab-eeee', {
      name: '6.1-slab',
      release: '6.1.194-mmaplab-slab',
      series: '6.1',
      profile: 'slab',
      sourceVersion: 'x',
      key: 'k3',
      seconds: 1,
      builtAt: 'now',
    });
    assert.notEqual(fs.readFileSync(image).subarray(0, 2).toString('latin1'), 'MZ');
    assert.ok(discoverKernels(roots).usable.some((k) => k.release === '6.1.194-mmaplab-slab'));
    // No "HdrS": not a bzImage, whatever its seal says.
    const bytes = fs.readFileSync(image);
    bytes.write('XXXX', 0x202, 'ascii');
    fs.writeFileSync(image, bytes);
    sealFile(image);
    const lines: string[] = [];
    const write = cacheLog.write;
    cacheLog.write = (l) => lines.push(l);
    try {
      assert.ok(!discoverKernels(roots).usable.some((k) => k.release === '6.1.194-mmaplab-slab'));
    } finally {
      cacheLog.write = write;
    }
    assert.match(at(lines, 0, 'the logged line'), /6\.1-slab kernel image .* is corrupt \(bad magic\)/);
  });
});
