/**
 * Caches are verified, not trusted: the cached vmlinux, initramfs and
 * mmaplab.ko each carry a sha256 sidecar, and a truncated, altered or
 * unsealed entry is reported in one line and rebuilt. No VM: the cache is a
 * temporary directory (MMAPLAB_CACHE), the kernel image a synthetic bzImage,
 * busybox a synthetic static ELF and the kbuild tree a fake Makefile.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureInitramfs } from '../../lib/vm/initramfs';
import type { Kernel } from '../../lib/vm/kernels';
import { ensureModule } from '../../lib/vm/kmod';
import { ensureBootImage, pvhEntryFailed, refusePvh } from '../../lib/vm/vmlinux';
import { ELF_MAGIC, cacheLog, cacheProblem, sealFile, sidecarPath, useCached, writeVerified } from '../../lib/util/verified-cache';
import { at } from '../../lib/util/at';

/** An ELF64 file whose only content is a PT_NOTE segment with the Xen PVH entry note. */
function pvhElf(): Buffer {
  const note = Buffer.alloc(12 + 4 + 4);
  note.writeUInt32LE(4, 0); // namesz "Xen\0"
  note.writeUInt32LE(4, 4); // descsz
  note.writeUInt32LE(18, 8); // XEN_ELFNOTE_PHYS32_ENTRY
  note.write('Xen\0', 12, 'ascii');
  const phoff = 64;
  const notesOff = phoff + 56;
  const elf = Buffer.alloc(notesOff + note.length + 4096);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf);
  elf.writeBigUInt64LE(BigInt(phoff), 0x20);
  elf.writeUInt16LE(64, 0x34);
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(1, 0x38);
  elf.writeUInt32LE(4, phoff); // PT_NOTE
  elf.writeBigUInt64LE(BigInt(notesOff), phoff + 8);
  elf.writeBigUInt64LE(BigInt(note.length), phoff + 32);
  note.copy(elf, notesOff);
  for (let i = notesOff + note.length; i < elf.length; i++) elf[i] = (i * 13) & 0xff;
  return elf;
}

/** A bzImage (boot protocol 2.15) whose payload is `elf`, gzipped, with its size word. */
function bzImageOf(elf: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE(elf.length);
  const payload = Buffer.concat([gzipSync(elf), size]);
  const setupSects = 4;
  const pmStart = (setupSects + 1) * 512;
  const image = Buffer.alloc(pmStart + payload.length);
  image.writeUInt8(setupSects, 0x1f1);
  image.writeUInt16LE(0xaa55, 0x1fe);
  image.write('HdrS', 0x202, 'ascii');
  image.writeUInt16LE(0x020f, 0x206);
  image.writeUInt32LE(0, 0x248);
  image.writeUInt32LE(payload.length, 0x24c);
  payload.copy(image, pmStart);
  return image;
}

/** A static ELF64 (no PT_INTERP) that passes for busybox. */
function staticElf(): Buffer {
  const elf = Buffer.alloc(64 + 56 + 64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf);
  elf.writeBigUInt64LE(64n, 0x20);
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(1, 0x38);
  elf.writeUInt32LE(1, 64); // PT_LOAD
  return elf;
}

function truncate(file: string): void {
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
}

function flipByte(file: string): void {
  const data = fs.readFileSync(file);
  const middle = Math.floor(data.length / 2);
  data[middle] = at(data, middle, 'the middle byte') ^ 0x55;
  fs.writeFileSync(file, data);
}

function deleteSidecar(file: string): void {
  fs.rmSync(sidecarPath(file));
}

const DAMAGE: Array<[string, (file: string) => void, RegExp]> = [
  ['truncated', truncate, /\(size \d+, expected \d+\)/],
  ['with a flipped byte', flipByte, /\(sha256 mismatch\)/],
  ['without its sidecar', deleteSidecar, /\(no checksum file\)/],
];

describe('verified cache', () => {
  let tmp: string;
  let logged: string[];
  const realWrite = cacheLog.write;
  const savedCache = process.env['MMAPLAB_CACHE'];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-vcache-'));
    process.env['MMAPLAB_CACHE'] = path.join(tmp, 'cache');
    logged = [];
    cacheLog.write = (line) => {
      logged.push(line);
    };
  });

  afterEach(() => {
    cacheLog.write = realWrite;
    if (savedCache === undefined) delete process.env['MMAPLAB_CACHE'];
    else process.env['MMAPLAB_CACHE'] = savedCache;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('sidecars', () => {
    it('writeVerified leaves the file and a sidecar with its sha256 and size; the entry verifies', () => {
      const file = path.join(tmp, 'entry');
      writeVerified(file, Buffer.from('hello'));
      assert.deepEqual(JSON.parse(fs.readFileSync(sidecarPath(file), 'utf8')), {
        sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
        size: 5,
      });
      assert.equal(cacheProblem(file), null);
      assert.equal(useCached(file, 'entry'), true);
      assert.deepEqual(logged, []);
      assert.deepEqual(fs.readdirSync(tmp).sort(), ['entry', 'entry.sha256'], 'no temporary files left');
    });

    for (const [how, damage, reason] of DAMAGE) {
      it(`an entry ${how} is reported in one line and removed with its sidecar`, () => {
        const file = path.join(tmp, 'entry');
        writeVerified(file, Buffer.alloc(1000, 7));
        damage(file);
        assert.equal(useCached(file, 'thing for K'), false);
        assert.equal(logged.length, 1);
        const line = at(logged, 0, 'the logged line');
        assert.match(line, /^cached thing for K is corrupt \(.*\); rebuilding$/);
        assert.match(line, reason);
        assert.ok(!fs.existsSync(file) && !fs.existsSync(sidecarPath(file)));
      });
    }

    it('a missing entry is a plain miss, silently; a sidecar without its file is reported', () => {
      const file = path.join(tmp, 'entry');
      assert.equal(useCached(file, 'entry'), false);
      assert.deepEqual(logged, []);
      fs.writeFileSync(sidecarPath(file), '{"sha256":"00","size":1}');
      assert.equal(useCached(file, 'entry'), false);
      assert.match(at(logged, 0, 'the logged line'), /corrupt \(missing\)/);
      assert.ok(!fs.existsSync(sidecarPath(file)));
    });

    it('a wrong magic is caught even when the sidecar matches; so is an unreadable sidecar', () => {
      const file = path.join(tmp, 'entry');
      fs.writeFileSync(file, 'not an ELF file');
      sealFile(file);
      assert.equal(cacheProblem(file), null);
      assert.equal(cacheProblem(file, { magic: ELF_MAGIC }), 'bad magic');
      fs.writeFileSync(sidecarPath(file), 'garbage');
      assert.equal(cacheProblem(file), 'unreadable checksum file (not JSON)');
      fs.writeFileSync(sidecarPath(file), JSON.stringify({ sha256: '00', size: '15' }));
      assert.equal(cacheProblem(file), 'unreadable checksum file (size: expected number, got string "15")');
    });
  });

  describe('ensureBootImage (vmlinux)', () => {
    function kernel(): Kernel {
      const image = path.join(tmp, 'vmlinuz-9.9.9-test');
      if (!fs.existsSync(image)) fs.writeFileSync(image, bzImageOf(pvhElf()));
      return { release: '9.9.9-test', image, buildDir: tmp, modulesDir: null, series: '9.9', origin: 'path' };
    }

    it('extracts and seals the vmlinux once; a good entry is used as it is', () => {
      const first = ensureBootImage(kernel());
      assert.equal(first.kind, 'vmlinux');
      assert.ok(fs.readFileSync(first.path).equals(pvhElf()));
      assert.equal(cacheProblem(first.path, { magic: ELF_MAGIC }), null);
      const before = fs.statSync(first.path);
      const again = ensureBootImage(kernel());
      assert.equal(again.path, first.path);
      assert.equal(fs.statSync(again.path).ino, before.ino, 'not rewritten');
      assert.equal(fs.statSync(again.path).mtimeMs, before.mtimeMs);
      assert.deepEqual(logged, []);
    });

    it('a kernel refused at its PVH entry boots its bzImage from then on, and the marker says why', () => {
      const first = ensureBootImage(kernel());
      assert.equal(first.kind, 'vmlinux');
      const why = refusePvh(kernel(), '/runs/9.9.9-test-template');
      assert.match(why, /reset before the kernel printed anything .*\(run directory \/runs\/9\.9\.9-test-template\)$/);
      assert.equal(fs.existsSync(first.path), false, 'the extracted vmlinux is gone');
      const then = ensureBootImage(kernel());
      assert.deepEqual(then, { path: kernel().image, kind: 'bzimage' });
      const marker = fs.readdirSync(path.dirname(first.path)).find((f) => f.startsWith('no-pvh-')) as string;
      assert.equal(fs.readFileSync(path.join(path.dirname(first.path), marker), 'utf8'), `${why}\n`);
    });

    describe('pvhEntryFailed', () => {
      const vmlinux = { path: '/v', kind: 'vmlinux' as const };
      const firmwareOnly = ['\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM..', ''];
      const reset = { end: 'exited', marks: {}, consoleTail: firmwareOnly };
      it('is a vmlinux boot that exited with nothing but the firmware on the console', () => {
        assert.equal(pvhEntryFailed(vmlinux, reset), true);
      });
      it('is not a bzImage boot, a restored VM, a boot that printed a line or a mark, a panic or a hang', () => {
        assert.equal(pvhEntryFailed({ path: '/b', kind: 'bzimage' }, reset), false);
        assert.equal(pvhEntryFailed(undefined, reset), false);
        assert.equal(pvhEntryFailed(vmlinux, { ...reset, consoleTail: [...firmwareOnly, 'Kernel panic - not syncing: VFS'] }), false);
        assert.equal(pvhEntryFailed(vmlinux, { ...reset, marks: { 'mmaplab-init: root ready': 900 } }), false);
        assert.equal(pvhEntryFailed(vmlinux, { ...reset, end: 'panic' }), false);
        assert.equal(pvhEntryFailed(vmlinux, { ...reset, end: 'timeout' }), false);
      });
    });

    const damages: Array<[string, (file: string) => void, RegExp]> = [
      ...DAMAGE,
      [
        'that is not an ELF file (sidecar matching)',
        (file) => {
          fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size));
          sealFile(file);
        },
        /\(bad magic\)/,
      ],
    ];
    for (const [how, damage, reason] of damages) {
      it(`a cached vmlinux ${how} is rebuilt, with one line saying so`, () => {
        const { path: file } = ensureBootImage(kernel());
        damage(file);
        const rebuilt = ensureBootImage(kernel());
        assert.equal(rebuilt.kind, 'vmlinux');
        assert.ok(fs.readFileSync(rebuilt.path).equals(pvhElf()));
        assert.equal(cacheProblem(rebuilt.path, { magic: ELF_MAGIC }), null);
        assert.equal(logged.length, 1);
        const line = at(logged, 0, 'the logged line');
        assert.match(line, /^cached vmlinux for 9\.9\.9-test is corrupt \(/);
        assert.match(line, reason);
      });
    }
  });

  describe('ensureInitramfs', () => {
    const KERNEL: Kernel = {
      release: '9.9.9-test',
      image: '/nonexistent',
      buildDir: '/nonexistent',
      modulesDir: null,
      series: '9.9',
      origin: 'path',
    };
    function busybox(): string {
      const file = path.join(tmp, 'busybox');
      if (!fs.existsSync(file)) fs.writeFileSync(file, staticElf());
      return file;
    }

    it('builds and seals the image once; a good entry is used as it is', () => {
      const file = ensureInitramfs(KERNEL, busybox());
      assert.equal(cacheProblem(file), null);
      const before = fs.statSync(file);
      assert.equal(ensureInitramfs(KERNEL, busybox()), file);
      assert.equal(fs.statSync(file).ino, before.ino, 'not rewritten');
      assert.deepEqual(logged, []);
    });

    for (const [how, damage, reason] of DAMAGE) {
      it(`a cached initramfs ${how} is rebuilt, with one line saying so`, () => {
        const file = ensureInitramfs(KERNEL, busybox());
        const good = fs.readFileSync(file);
        damage(file);
        assert.equal(ensureInitramfs(KERNEL, busybox()), file);
        assert.ok(fs.readFileSync(file).equals(good));
        assert.equal(cacheProblem(file), null);
        assert.equal(logged.length, 1);
        const line = at(logged, 0, 'the logged line');
        assert.match(line, /^cached initramfs for 9\.9\.9-test is corrupt \(/);
        assert.match(line, reason);
      });
    }
  });

  describe('ensureModule (mmaplab.ko)', () => {
    /** A kbuild tree whose "modules" target writes a fake module and counts builds. */
    function kernel(): Kernel {
      const buildDir = path.join(tmp, 'kbuild');
      if (!fs.existsSync(buildDir)) {
        fs.mkdirSync(buildDir);
        fs.writeFileSync(
          path.join(buildDir, 'Makefile'),
          "modules:\n\tprintf '\\177ELF fake module' > $(M)/mmaplab.ko\n\techo built >> $(CURDIR)/builds\n",
        );
      }
      return { release: '9.9.9-test', image: '/nonexistent', buildDir, modulesDir: null, series: '9.9', origin: 'path' };
    }
    const builds = (): number => fs.readFileSync(path.join(tmp, 'kbuild', 'builds'), 'utf8').split('\n').length - 1;

    it('builds and seals the module once; a good entry is not rebuilt', () => {
      const first = ensureModule(kernel());
      assert.equal(first.cached, false);
      assert.equal(cacheProblem(first.path, { magic: ELF_MAGIC }), null);
      const again = ensureModule(kernel());
      assert.equal(again.cached, true);
      assert.equal(builds(), 1);
      assert.deepEqual(logged, []);
    });

    for (const [how, damage, reason] of DAMAGE) {
      it(`a cached mmaplab.ko ${how} is rebuilt, with one line saying so`, () => {
        const { path: ko } = ensureModule(kernel());
        damage(ko);
        const rebuilt = ensureModule(kernel());
        assert.equal(rebuilt.cached, false);
        assert.equal(builds(), 2);
        assert.equal(fs.readFileSync(rebuilt.path, 'latin1'), '\x7fELF fake module');
        assert.equal(cacheProblem(rebuilt.path, { magic: ELF_MAGIC }), null);
        assert.equal(logged.length, 1);
        const line = at(logged, 0, 'the logged line');
        assert.match(line, /^cached mmaplab\.ko for 9\.9\.9-test is corrupt \(/);
        assert.match(line, reason);
      });
    }
  });
});
