/**
 * lib/vm/initramfs without booting: what goes into the per-kernel image
 * (read back with readCpio), when its cache key changes, and which busybox
 * is acceptable.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCpio, type CpioReadEntry } from '../../lib/vm/cpio';
import { HOST_ROOT_TAG, RUN_DIR_TAG, initScript } from '../../lib/vm/guest-init';
import {
  MSIZE,
  imageRootMissing,
  templateAgentCommand,
  planInitramfs,
  planKey,
  renderInitramfs,
  type InitramfsPlan,
} from '../../lib/vm/initramfs';
import type { Kernel } from '../../lib/vm/kernels';
import { INITRAMFS_MODULE_ROOTS, loadModuleIndex, resolveLoadOrder } from '../../lib/vm/modules';
import { caught } from './caught';
import { at } from '../../lib/util/at';

const KERNEL: Kernel = {
  release: '6.1.0-56-amd64',
  image: '/nonexistent/vmlinuz',
  buildDir: '/nonexistent/build',
  modulesDir: null,
  series: '6.1',
  origin: 'installed',
};

function fakeModule(name: string): Buffer {
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.from(`module ${name}\0`)]);
}

function plan(moduleNames: readonly string[] = ['virtio_ring', 'virtio', 'virtio_mmio', '9pnet', '9pnet_virtio']): InitramfsPlan {
  return {
    modules: moduleNames.map((name) => ({ name, data: fakeModule(name) })),
    busybox: Buffer.from('\x7fELF not really busybox'),
    init: initScript(MSIZE),
  };
}

function entryMap(entries: readonly CpioReadEntry[]): Map<string, CpioReadEntry> {
  return new Map(entries.map((e) => [e.name, e]));
}

/** A minimal ELF64 executable whose program headers are `types` (3 = PT_INTERP). */
function elfWithSegments(types: readonly number[]): Buffer {
  const elf = Buffer.alloc(64 + types.length * 56 + 64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf);
  elf.writeBigUInt64LE(64n, 0x20);
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(types.length, 0x38);
  types.forEach((t, i) => elf.writeUInt32LE(t, 64 + i * 56));
  return elf;
}

describe('initramfs contents', () => {
  it('renderInitramfs puts /init (0755) with the module loop and the 9p and overlay mounts', () => {
    const init = entryMap(readCpio(renderInitramfs(plan()))).get('init');
    assert.ok(init);
    assert.equal(init.mode, 0o100755);
    const text = init.data.toString('utf8');
    assert.ok(text.startsWith('#!/bin/busybox sh\n'));
    assert.match(text, /\$B insmod \/lib\/mmaplab-initramfs\/\$m\.ko/);
    assert.match(text, /\$\(\$B cat \/etc\/mmaplab-modules\)/);
    const hostMount = `mount -t 9p -o trans=virtio,version=9p2000\\.L,msize=${MSIZE},cache=loose,ro`;
    assert.match(text, new RegExp(`${hostMount} \\\\\\n +${HOST_ROOT_TAG} /host`));
    assert.match(text, new RegExp(`mount -t 9p .*\\\\\\n  ${RUN_DIR_TAG} /newroot/run/mmaplab`));
    assert.match(text, /mount -t overlay -o lowerdir=\/host,upperdir=\/rw\/upper,workdir=\/rw\/work/);
    assert.match(text, /mount -t devtmpfs dev \/dev\n/);
    assert.match(text, /chroot \/newroot \/bin\/sh \/run\/mmaplab\/guest\.sh/);
    assert.ok(text.trimEnd().endsWith('$B poweroff -f'), 'the VM powers off when guest.sh ends');
  });

  it('renderInitramfs puts busybox at bin/busybox, executable, byte for byte', () => {
    const p = plan();
    const busybox = entryMap(readCpio(renderInitramfs(p))).get('bin/busybox');
    assert.equal(busybox?.mode, 0o100755);
    assert.ok(busybox?.data.equals(p.busybox));
  });

  it('etc/mmaplab-modules lists the modules in load order, one a line', () => {
    const list = entryMap(readCpio(renderInitramfs(plan()))).get('etc/mmaplab-modules');
    assert.equal(list?.data.toString('utf8'), 'virtio_ring\nvirtio\nvirtio_mmio\n9pnet\n9pnet_virtio\n');
  });

  it('each module is lib/mmaplab-initramfs/<name>.ko with its bytes', () => {
    const p = plan();
    const entries = readCpio(renderInitramfs(p));
    const kos = entries.filter((e) => e.name.startsWith('lib/mmaplab-initramfs/'));
    assert.deepEqual(
      kos.map((e) => e.name),
      p.modules.map((m) => `lib/mmaplab-initramfs/${m.name}.ko`),
    );
    kos.forEach((e, i) => {
      assert.equal(e.mode, 0o100644);
      assert.ok(e.data.equals(at(p.modules, i, 'the module of the entry').data), e.name);
    });
  });

  it('every mount point /init uses is a directory, and each entry comes after its parent', () => {
    const entries = readCpio(renderInitramfs(plan()));
    const dirs = new Set(entries.filter((e) => (e.mode & 0o170000) === 0o040000).map((e) => e.name));
    for (const d of ['bin', 'dev', 'etc', 'host', 'lib', 'newroot', 'proc', 'rw', 'sys', 'lib/mmaplab-initramfs']) {
      assert.ok(dirs.has(d), `missing directory ${d}`);
    }
    const seen = new Set<string>();
    for (const e of entries) {
      const parent = path.posix.dirname(e.name);
      assert.ok(parent === '.' || seen.has(parent), `${e.name} comes before its directory ${parent}`);
      seen.add(e.name);
    }
  });

  it('a kernel with everything built in gets an empty module list', () => {
    const entries = entryMap(readCpio(renderInitramfs(plan([]))));
    assert.equal(entries.get('etc/mmaplab-modules')?.data.toString(), '\n');
    assert.ok(![...entries.keys()].some((n) => n.endsWith('.ko')));
  });

  it('renderInitramfs is reproducible: the same plan gives the same bytes', () => {
    assert.ok(renderInitramfs(plan()).equals(renderInitramfs(plan())));
  });
});

describe('initramfs cache key', () => {
  it('planKey is 16 hex digits and stable for the same kernel and plan', () => {
    const key = planKey(KERNEL, plan());
    assert.match(key, /^[0-9a-f]{16}$/);
    assert.equal(planKey(KERNEL, plan()), key);
  });

  it('planKey changes when one byte of a module changes', () => {
    const p = plan();
    const before = planKey(KERNEL, p);
    const changed = plan();
    const m = at(changed.modules, 2, 'the third module');
    m.data = Buffer.from(m.data);
    const i = m.data.length - 2;
    m.data[i] = at(m.data, i, 'a byte of the module') ^ 1;
    assert.notEqual(planKey(KERNEL, changed), before);
  });

  it('planKey changes with the module order, busybox, /init and the kernel release', () => {
    const before = planKey(KERNEL, plan());
    assert.notEqual(planKey(KERNEL, plan(['virtio', 'virtio_ring', 'virtio_mmio', '9pnet', '9pnet_virtio'])), before);
    assert.notEqual(planKey(KERNEL, { ...plan(), busybox: Buffer.from('other busybox') }), before);
    assert.notEqual(planKey(KERNEL, { ...plan(), init: initScript(MSIZE * 2) }), before);
    assert.notEqual(planKey({ ...KERNEL, release: '6.1.0-57-amd64' }, plan()), before);
  });

  it('planKey tells a module name from its data (no ambiguous concatenation)', () => {
    const a: InitramfsPlan = { ...plan([]), modules: [{ name: 'ab', data: Buffer.from('c') }] };
    const b: InitramfsPlan = { ...plan([]), modules: [{ name: 'a', data: Buffer.from('bc') }] };
    assert.notEqual(planKey(KERNEL, a), planKey(KERNEL, b));
  });
});

describe('initramfs plan', () => {
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-initramfs-'));
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('planInitramfs rejects a dynamically linked busybox (node itself) with ENOTOOL naming busybox-static', () => {
    const err = caught(() => planInitramfs(KERNEL, process.execPath));
    assert.equal(err.code, 'ENOTOOL');
    assert.ok(err.message.startsWith(`${process.execPath} is dynamically linked; `), err.message);
    assert.match(err.message, /apt-get install busybox-static$/);
  });

  it('planInitramfs rejects an executable with a PT_INTERP segment and a file that is not ELF', () => {
    const dynamic = path.join(tmp, 'busybox-dynamic');
    fs.writeFileSync(dynamic, elfWithSegments([6, 3, 1, 1, 2]));
    assert.equal(caught(() => planInitramfs(KERNEL, dynamic)).code, 'ENOTOOL');
    const script = path.join(tmp, 'busybox-script');
    fs.writeFileSync(script, '#!/bin/sh\nexec /bin/busybox "$@"\n'.repeat(4));
    assert.match(caught(() => planInitramfs(KERNEL, script)).message, /busybox-static/);
  });

  it('planInitramfs reports a missing busybox as ENOTOOL naming busybox-static', () => {
    const err = caught(() => planInitramfs(KERNEL, path.join(tmp, 'no-busybox')));
    assert.equal(err.code, 'ENOTOOL');
    assert.match(err.message, /no-busybox is missing: apt-get install busybox-static/);
  });

  it('planInitramfs with a static busybox and no modules directory needs no modules', () => {
    const busybox = path.join(tmp, 'busybox-static');
    const elf = elfWithSegments([1, 1, 4]);
    fs.writeFileSync(busybox, elf);
    const p = planInitramfs(KERNEL, busybox);
    assert.deepEqual(p.modules, []);
    assert.ok(p.busybox.equals(elf));
    assert.equal(p.init, initScript(MSIZE, templateAgentCommand()), 'nothing is missing for an image root');
  });

  it('planInitramfs reads the modules the roots need in load order, decompressing .ko.gz', () => {
    const busybox = path.join(tmp, 'busybox-static');
    fs.writeFileSync(busybox, elfWithSegments([1]));
    const mods = path.join(tmp, 'lib', 'modules', '6.1.0-56-amd64');
    const files: Record<string, string> = {
      virtio_ring: 'kernel/drivers/virtio/virtio_ring.ko',
      virtio: 'kernel/drivers/virtio/virtio.ko',
      virtio_mmio: 'kernel/drivers/virtio/virtio_mmio.ko',
      virtio_pci_legacy_dev: 'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
      virtio_pci_modern_dev: 'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
      virtio_pci: 'kernel/drivers/virtio/virtio_pci.ko',
      virtio_rng: 'kernel/drivers/char/hw_random/virtio-rng.ko',
      '9pnet': 'kernel/net/9p/9pnet.ko',
      '9pnet_virtio': 'kernel/net/9p/9pnet_virtio.ko',
      netfs: 'kernel/fs/netfs/netfs.ko',
      '9p': 'kernel/fs/9p/9p.ko.gz',
      overlay: 'kernel/fs/overlayfs/overlay.ko',
      virtio_blk: 'kernel/drivers/block/virtio_blk.ko',
    };
    for (const [name, rel] of Object.entries(files)) {
      const data = fakeModule(name);
      fs.mkdirSync(path.dirname(path.join(mods, rel)), { recursive: true });
      fs.writeFileSync(path.join(mods, rel), rel.endsWith('.gz') ? gzipSync(data) : data);
    }
    fs.writeFileSync(
      path.join(mods, 'modules.dep'),
      [
        `${files['virtio_ring']}:`,
        `${files['virtio']}: ${files['virtio_ring']}`,
        `${files['virtio_mmio']}: ${files['virtio']} ${files['virtio_ring']}`,
        `${files['virtio_pci_legacy_dev']}:`,
        `${files['virtio_pci_modern_dev']}:`,
        `${files['virtio_pci']}: ${files['virtio_pci_legacy_dev']} ${files['virtio_pci_modern_dev']} ` +
          `${files['virtio']} ${files['virtio_ring']}`,
        `${files['virtio_rng']}: ${files['virtio']} ${files['virtio_ring']}`,
        `${files['netfs']}:`,
        `${files['9pnet']}:`,
        `${files['9pnet_virtio']}: ${files['9pnet']} ${files['virtio']} ${files['virtio_ring']}`,
        `${files['9p']}: ${files['9pnet']} ${files['netfs']}`,
        `${files['overlay']}:`,
        `${files['virtio_blk']}: ${files['virtio']} ${files['virtio_ring']}`,
        '',
      ].join('\n'),
    );
    const p = planInitramfs({ ...KERNEL, modulesDir: mods }, busybox);
    const names = p.modules.map((m) => m.name);
    assert.deepEqual(names, resolveLoadOrder(loadModuleIndex(mods), INITRAMFS_MODULE_ROOTS));
    for (const root of INITRAMFS_MODULE_ROOTS) assert.ok(names.includes(root), `${root} is loaded`);
    assert.ok(names.includes('9p') && names.indexOf('netfs') < names.indexOf('9p'), names.join(' '));
    assert.ok(!names.includes('virtio_rng'), 'only what the roots need');
    for (const m of p.modules) assert.ok(m.data.equals(fakeModule(m.name)), `${m.name} is plain ELF`);
    // virtio_blk (for the scratch disk) but no crc32c_generic, ext4 or virtio_console here:
    // this kernel boots cold only, and its init says so.
    assert.match(imageRootMissing(p) ?? '', /neither a module nor a built-in crc32c_generic/);
    assert.match(p.init, /fail "this initramfs has no image root/);
  });

  it('planInitramfs adds what the image root needs, beyond the common modules, to its own list', () => {
    const busybox = path.join(tmp, 'busybox-static');
    fs.writeFileSync(busybox, elfWithSegments([1]));
    const mods = path.join(tmp, 'lib', 'modules', '6.1.0-99-amd64');
    const dep: Record<string, string[]> = {
      virtio_pci: [],
      '9pnet_virtio': [],
      '9p': [],
      overlay: [],
      virtio_blk: ['virtio_pci'],
      crc32c_generic: [],
      crc16: [],
      ext4: ['crc16'],
    };
    fs.mkdirSync(mods, { recursive: true });
    for (const name of Object.keys(dep)) fs.writeFileSync(path.join(mods, `${name}.ko`), fakeModule(name));
    fs.writeFileSync(
      path.join(mods, 'modules.dep'),
      Object.entries(dep)
        .map(([n, d]) => `${n}.ko: ${d.map((x) => `${x}.ko`).join(' ')}`)
        .join('\n') + '\n',
    );
    fs.writeFileSync(path.join(mods, 'modules.builtin'), 'kernel/drivers/char/virtio_console.ko\n');
    const p = planInitramfs({ ...KERNEL, modulesDir: mods }, busybox);
    assert.equal(imageRootMissing(p), null);
    const image = p.imageModules !== undefined && 'modules' in p.imageModules ? p.imageModules.modules : [];
    // virtio_blk is a common module (every VM has a scratch disk): not listed again.
    assert.deepEqual(
      image.map((m) => m.name),
      ['crc32c_generic', 'crc16', 'ext4'],
    );
    assert.ok(p.modules.some((m) => m.name === 'virtio_blk'));
    const entries = entryMap(readCpio(renderInitramfs(p)));
    assert.equal(entries.get('etc/mmaplab-modules-image')?.data.toString('utf8'), 'crc32c_generic\ncrc16\next4\n');
    assert.ok(entries.has('lib/mmaplab-initramfs/ext4.ko'));
    assert.match(p.init, new RegExp(`chroot /newroot ${templateAgentCommand().replace(/[.+]/g, '\\$&')}`));
    assert.notEqual(planKey(KERNEL, p), planKey(KERNEL, { ...p, imageModules: { modules: [] } }));
  });
});
