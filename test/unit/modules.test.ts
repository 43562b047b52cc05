/**
 * lib/vm/modules on excerpts of Debian's modules.dep and modules.builtin:
 * which modules the initramfs loads, in which order, on 6.1 (virtio is a
 * module) and 6.12 (virtio built in, modules xz-compressed).
 */
import { strict as assert } from 'node:assert';
import {
  INITRAMFS_MODULE_ROOTS,
  moduleName,
  parseModulesBuiltin,
  parseModulesDep,
  resolveLoadOrder,
  type ModuleIndex,
} from '../../lib/vm/modules';
import { caught } from './caught';

/** From the modules.dep of Debian's 6.1.0-56-amd64 (order as depmod writes it). */
const DEP_6_1 = `kernel/fs/netfs/netfs.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko
kernel/fs/fuse/fuse.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/9p/9pnet.ko:
kernel/net/9p/9pnet_fd.ko: kernel/net/9p/9pnet.ko
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
`;

const BUILTIN_6_1 = `kernel/arch/x86/crypto/crc32c-intel.ko
kernel/fs/ext4/ext4.ko
kernel/drivers/char/mem.ko
`;

/** From the modules of Debian's 6.12.117+deb12-amd64: virtio is built in, modules are .ko.xz. */
const DEP_6_12 = `kernel/fs/netfs/netfs.ko.xz:
kernel/drivers/block/virtio_blk.ko.xz:
kernel/fs/overlayfs/overlay.ko.xz:
kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz
kernel/drivers/virtio/virtio_mmio.ko.xz:
kernel/net/9p/9pnet.ko.xz: kernel/fs/netfs/netfs.ko.xz
kernel/net/9p/9pnet_fd.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz
kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz
`;

const BUILTIN_6_12 = `kernel/fs/fuse/virtiofs.ko
kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko
kernel/drivers/virtio/virtio_pci.ko
kernel/drivers/char/virtio_console.ko
`;

/** The guest's needs with the virtio-mmio transport (microvm) and with virtio-pci (q35). */
const MMIO_ROOTS = ['virtio_mmio', '9pnet_virtio', '9p', 'overlay'];
const PCI_ROOTS = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

function index(dep: string, builtin = ''): ModuleIndex {
  return { ...parseModulesDep(dep), builtin: parseModulesBuiltin(builtin) };
}

/** Every module appears after all of its dependencies that are in the list. */
function assertDepsFirst(idx: ModuleIndex, order: readonly string[]): void {
  order.forEach((name, i) => {
    for (const dep of idx.deps.get(name) ?? []) {
      if (idx.builtin.has(dep)) continue;
      const at = order.indexOf(dep);
      assert.ok(at >= 0 && at < i, `${dep} must be loaded before ${name}: ${order.join(' ')}`);
    }
  });
}

describe('modules.dep and modules.builtin', () => {
  it('moduleName strips the directory and .ko, .ko.xz, .ko.gz, .ko.zst, and turns dashes into underscores', () => {
    assert.equal(moduleName('kernel/net/9p/9pnet_virtio.ko'), '9pnet_virtio');
    assert.equal(moduleName('kernel/fs/9p/9p.ko.xz'), '9p');
    assert.equal(moduleName('kernel/fs/overlayfs/overlay.ko.gz'), 'overlay');
    assert.equal(moduleName('kernel/fs/netfs/netfs.ko.zst'), 'netfs');
    assert.equal(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko'), 'virtio_rng');
    assert.equal(moduleName('kernel/arch/x86/crypto/crc32c-intel.ko'), 'crc32c_intel');
  });

  it('parseModulesDep maps each module to its path and its direct dependencies (6.1)', () => {
    const { paths, deps } = parseModulesDep(DEP_6_1);
    assert.equal(paths.get('9pnet_virtio'), 'kernel/net/9p/9pnet_virtio.ko');
    assert.deepEqual(deps.get('9pnet_virtio'), ['9pnet', 'virtio', 'virtio_ring']);
    assert.deepEqual(deps.get('virtio_mmio'), ['virtio', 'virtio_ring']);
    assert.deepEqual(deps.get('9p'), ['9pnet', 'fscache', 'netfs']);
    assert.deepEqual(deps.get('overlay'), []);
    assert.equal(paths.get('virtio_rng'), 'kernel/drivers/char/hw_random/virtio-rng.ko', 'path keeps the dash');
    assert.equal(paths.size, 17);
  });

  it('parseModulesDep keeps .ko.xz paths and names the modules without the suffix (6.12)', () => {
    const { paths, deps } = parseModulesDep(DEP_6_12);
    assert.equal(paths.get('9p'), 'kernel/fs/9p/9p.ko.xz');
    assert.deepEqual(deps.get('9p'), ['9pnet', 'netfs']);
    assert.deepEqual(deps.get('virtio_mmio'), []);
    assert.ok(!paths.has('9p.ko'));
  });

  it('parseModulesDep ignores blank lines, lines without a colon, and CRLF line ends', () => {
    const { paths, deps } = parseModulesDep('\n# comment\nkernel/a.ko: kernel/b-c.ko  \r\n\nkernel/b-c.ko:\r\n');
    assert.deepEqual([...paths.keys()], ['a', 'b_c']);
    assert.deepEqual(deps.get('a'), ['b_c']);
    assert.deepEqual(deps.get('b_c'), []);
  });

  it('parseModulesBuiltin names built-in modules with dashes as underscores', () => {
    const builtin = parseModulesBuiltin(BUILTIN_6_1);
    assert.deepEqual([...builtin], ['crc32c_intel', 'ext4', 'mem']);
    assert.ok(parseModulesBuiltin(BUILTIN_6_12).has('virtio_ring'));
    assert.equal(parseModulesBuiltin('\n\n').size, 0);
  });
});

describe('module load order', () => {
  it('6.1: virtio-mmio, 9p and overlay load dependencies first, each once', () => {
    const idx = index(DEP_6_1, BUILTIN_6_1);
    const order = resolveLoadOrder(idx, MMIO_ROOTS);
    assert.deepEqual(order, ['virtio_ring', 'virtio', 'virtio_mmio', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p', 'overlay']);
    assert.equal(new Set(order).size, order.length);
    assertDepsFirst(idx, order);
  });

  it('6.12: built-in virtio and virtio_ring are not loaded', () => {
    const idx = index(DEP_6_12, BUILTIN_6_12);
    const order = resolveLoadOrder(idx, MMIO_ROOTS);
    assert.deepEqual(order, ['virtio_mmio', 'netfs', '9pnet', '9pnet_virtio', '9p', 'overlay']);
    assertDepsFirst(idx, order);
  });

  it('virtio-pci: its two helper modules come first on 6.1, and nothing of it is loaded on 6.12', () => {
    const idx61 = index(DEP_6_1, BUILTIN_6_1);
    const order61 = resolveLoadOrder(idx61, PCI_ROOTS);
    assert.deepEqual(order61.slice(0, 5), ['virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_ring', 'virtio', 'virtio_pci']);
    assertDepsFirst(idx61, order61);
    const order612 = resolveLoadOrder(index(DEP_6_12, BUILTIN_6_12), PCI_ROOTS);
    assert.deepEqual(order612, ['netfs', '9pnet', '9pnet_virtio', '9p', 'overlay']);
  });

  it('a root that is built in is skipped, and an all-built-in kernel needs no modules', () => {
    const builtin = [
      'kernel/drivers/virtio/virtio_mmio.ko',
      'kernel/net/9p/9pnet_virtio.ko',
      'kernel/fs/9p/9p.ko',
      'kernel/fs/overlayfs/overlay.ko',
    ];
    const idx = index('', builtin.join('\n'));
    assert.deepEqual(resolveLoadOrder(idx, MMIO_ROOTS), []);
    const partly = index(DEP_6_1, 'kernel/fs/overlayfs/overlay.ko\n');
    assert.ok(!resolveLoadOrder(partly, MMIO_ROOTS).includes('overlay'));
  });

  it('the initramfs roots resolve on both Debian kernels, each root loaded or built in', () => {
    for (const [dep, builtin] of [
      [DEP_6_1, BUILTIN_6_1],
      [DEP_6_12, BUILTIN_6_12],
    ] as const) {
      const idx = index(dep, builtin);
      const order = resolveLoadOrder(idx, INITRAMFS_MODULE_ROOTS);
      for (const root of INITRAMFS_MODULE_ROOTS) assert.ok(order.includes(root) || idx.builtin.has(root), root);
      assertDepsFirst(idx, order);
    }
  });

  it('a root that is neither a module nor built in is ENOMODULES naming it', () => {
    const err = caught(() => resolveLoadOrder(index(DEP_6_12, BUILTIN_6_12), ['virtio_mmio', 'virtiofs_nope']));
    assert.equal(err.code, 'ENOMODULES');
    assert.equal(err.message, 'kernel has neither a module nor a built-in virtiofs_nope');
    assert.deepEqual(err.details, { module: 'virtiofs_nope' });
  });

  it('a missing dependency is ENOMODULES naming the module and who needed it', () => {
    // 6.1's dep file without netfs.ko: 9p -> fscache -> netfs breaks.
    const dep = DEP_6_1.split('\n')
      .filter((l) => !l.startsWith('kernel/fs/netfs/netfs.ko:'))
      .join('\n');
    const err = caught(() => resolveLoadOrder(index(dep), ['9p']));
    assert.equal(err.code, 'ENOMODULES');
    assert.match(err.message, /neither a module nor a built-in netfs \(needed by fscache <- 9p\)/);
    assert.deepEqual(err.details, { module: 'netfs' });
  });

  it('a dependency cycle is ENOMODULES naming a module on the cycle', () => {
    const dep = 'a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n';
    const err = caught(() => resolveLoadOrder(index(dep), ['a']));
    assert.equal(err.code, 'ENOMODULES');
    assert.match(err.message, /^dependency cycle at (a|b|c)$/);
    const self = caught(() => resolveLoadOrder(index('x.ko: x.ko\n'), ['x']));
    assert.equal(self.message, 'dependency cycle at x');
  });

  it('a module shared by several roots is listed once, before the first that needs it', () => {
    const idx = index(DEP_6_1);
    assert.deepEqual(resolveLoadOrder(idx, ['9pnet_virtio', 'virtio_mmio', 'virtio']), [
      '9pnet',
      'virtio_ring',
      'virtio',
      '9pnet_virtio',
      'virtio_mmio',
    ]);
  });
});
