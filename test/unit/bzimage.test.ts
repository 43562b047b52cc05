/**
 * lib/vm/bzimage on synthetic images: the x86 boot-protocol setup header, the
 * payload's compression, vmlinux extraction (gzip payload, decompressed by
 * the gzip tool every Debian has) and the Xen PVH entry note. The images of
 * the default 6.1 and 6.12 kernels are checked too; a missing one fails.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { detectCompression, extractPayload, extractVmlinux, hasPvhEntry, parseSetupHeader, type Compression } from '../../lib/vm/bzimage';
import { MmaplabError } from '../../lib/util/errors';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { installedKernel } from '../installed-kernel';

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

interface ImageSpec {
  /** Raw setup_sects byte (0 means 4 to the kernel). */
  setupSects?: number;
  version?: number;
  magic?: boolean;
  /** The compressed stream plus its trailing size word. */
  payload: Buffer;
  /** Bytes between the protected-mode start and the payload. */
  payloadOffset?: number;
  /** Override the length written into the header. */
  payloadLength?: number;
}

/** A bzImage as far as the boot protocol's setup header describes one. */
function bzImage(spec: ImageSpec): Buffer {
  const setupSects = spec.setupSects ?? 27;
  const payloadOffset = spec.payloadOffset ?? 0x3b0;
  const pmStart = ((setupSects || 4) + 1) * 512;
  const image = Buffer.alloc(pmStart + payloadOffset + spec.payload.length, 0xcc);
  image.fill(0, 0x1f0, 0x260);
  image.writeUInt8(setupSects, 0x1f1);
  image.writeUInt16LE(0xaa55, 0x1fe);
  if (spec.magic ?? true) image.write('HdrS', 0x202, 'ascii');
  image.writeUInt16LE(spec.version ?? 0x020f, 0x206);
  image.writeUInt32LE(payloadOffset, 0x248);
  image.writeUInt32LE(spec.payloadLength ?? spec.payload.length, 0x24c);
  spec.payload.copy(image, pmStart + payloadOffset);
  return image;
}

function withSize(stream: Buffer, size: number): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32LE(size);
  return Buffer.concat([stream, word]);
}

/** A small ELF64 "vmlinux": a header and some recognisable bytes. */
const FAKE_ELF = (() => {
  const elf = Buffer.alloc(4096);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf);
  for (let i = 64; i < elf.length; i++) elf[i] = (i * 7) & 0xff;
  return elf;
})();

describe('bzImage setup header', () => {
  it('parseSetupHeader reads setup_sects, the protocol version and where the payload is', () => {
    const payload = withSize(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]), 99);
    const h = parseSetupHeader(bzImage({ setupSects: 27, version: 0x020f, payload, payloadOffset: 0x3b0 }));
    assert.deepEqual(h, {
      setupSects: 27,
      protocol: { major: 2, minor: 15 },
      payloadStart: 28 * 512 + 0x3b0,
      payloadLength: payload.length,
    });
  });

  it('setup_sects 0 means 4 setup sectors', () => {
    const payload = withSize(Buffer.from([0x1f, 0x8b, 8, 0]), 1);
    const h = parseSetupHeader(bzImage({ setupSects: 0, payload, payloadOffset: 16 }));
    assert.equal(h.setupSects, 4);
    assert.equal(h.payloadStart, 5 * 512 + 16);
  });

  it('protocol 2.08 is enough; anything older is rejected with EBZIMAGE', () => {
    const payload = withSize(Buffer.from([0x1f, 0x8b, 8, 0]), 1);
    assert.deepEqual(parseSetupHeader(bzImage({ version: 0x0208, payload })).protocol, { major: 2, minor: 8 });
    throwsCode(() => parseSetupHeader(bzImage({ version: 0x0207, payload })), 'EBZIMAGE', /boot protocol 2\.7 .*needs 2\.08/);
    throwsCode(() => parseSetupHeader(bzImage({ version: 0x0100, payload })), 'EBZIMAGE', /boot protocol 1\.0/);
  });

  it('a file without "HdrS" at 0x202 is not a bzImage', () => {
    const payload = withSize(Buffer.from([0x1f, 0x8b, 8, 0]), 1);
    throwsCode(() => parseSetupHeader(bzImage({ magic: false, payload })), 'EBZIMAGE', /HdrS/);
    throwsCode(() => parseSetupHeader(FAKE_ELF), 'EBZIMAGE', /HdrS/);
  });

  it('a file shorter than the setup header is rejected', () => {
    throwsCode(() => parseSetupHeader(Buffer.alloc(0x24f)), 'EBZIMAGE', /too short/);
  });

  it('a payload that runs past the end of the file, or is too short to hold anything, is rejected', () => {
    const payload = withSize(Buffer.from([0x1f, 0x8b, 8, 0]), 1);
    throwsCode(() => parseSetupHeader(bzImage({ payload, payloadLength: payload.length + 1 })), 'EBZIMAGE', /outside the file/);
    const image = bzImage({ payload });
    image.writeUInt32LE(image.length, 0x248); // offset past the end
    throwsCode(() => parseSetupHeader(image), 'EBZIMAGE', /outside the file/);
    throwsCode(() => parseSetupHeader(bzImage({ payload, payloadLength: 7 })), 'EBZIMAGE', /outside the file/);
  });

  it('extractPayload splits off the trailing little-endian size word', () => {
    const stream = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 9, 9, 9]);
    const p = extractPayload(bzImage({ payload: withSize(stream, 0x01020304) }));
    assert.equal(p.compression, 'xz');
    assert.ok(p.data.equals(stream));
    assert.equal(p.expectedSize, 0x01020304);
  });
});

describe('bzImage payload compression', () => {
  const magics: Array<[Compression, number[]]> = [
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
    ['gzip', [0x1f, 0x8b]],
    ['lz4', [0x02, 0x21, 0x4c, 0x18]],
    ['bzip2', [0x42, 0x5a, 0x68]],
    ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
    ['lzma', [0x5d, 0x00, 0x00]],
  ];
  for (const [compression, magic] of magics) {
    it(`detectCompression recognises ${compression} by its magic ${Buffer.from(magic).toString('hex')}`, () => {
      assert.equal(detectCompression(Buffer.from([...magic, 0x11, 0x22, 0x33, 0x44])), compression);
    });
  }

  it('detectCompression rejects an unknown stream and shows its first bytes', () => {
    throwsCode(() => detectCompression(Buffer.from('0123456789')), 'EBZIMAGE', /unknown payload compression \(first bytes 303132333435\)/);
    throwsCode(() => detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01])), 'EBZIMAGE', /unknown/);
    throwsCode(() => detectCompression(Buffer.alloc(0)), 'EBZIMAGE', /unknown/);
  });

  it('detectCompression finds gzip in a real gzip stream', () => {
    assert.equal(detectCompression(gzipSync(FAKE_ELF)), 'gzip');
  });
});

describe('vmlinux extraction', () => {
  it('extractVmlinux returns the ELF from a gzip-compressed payload', () => {
    const image = bzImage({ payload: withSize(gzipSync(FAKE_ELF), FAKE_ELF.length) });
    const elf = extractVmlinux(image);
    assert.ok(elf.equals(FAKE_ELF));
  });

  it('extractVmlinux rejects a payload whose size differs from the recorded size', () => {
    const image = bzImage({ payload: withSize(gzipSync(FAKE_ELF), FAKE_ELF.length + 1) });
    throwsCode(() => extractVmlinux(image), 'EBZIMAGE', /decompressed 4096 bytes, the image records 4097/);
  });

  it('extractVmlinux rejects a payload that is not an ELF image', () => {
    const text = Buffer.from('not an ELF file\n'.repeat(10));
    const image = bzImage({ payload: withSize(gzipSync(text), text.length) });
    throwsCode(() => extractVmlinux(image), 'EBZIMAGE', /not an ELF image/);
  });

  it('extractVmlinux reports a corrupt stream as EBZIMAGE naming the tool', () => {
    const broken = gzipSync(FAKE_ELF);
    broken.fill(0xff, 12, broken.length - 8);
    const image = bzImage({ payload: withSize(broken, FAKE_ELF.length) });
    throwsCode(() => extractVmlinux(image), 'EBZIMAGE', /^gzip failed/);
  });
});

interface Note {
  name: string;
  type: number;
  desc: Buffer;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function noteBytes(notes: readonly Note[]): Buffer {
  return Buffer.concat(
    notes.map((n) => {
      const namesz = n.name.length + 1;
      const out = Buffer.alloc(12 + align4(namesz) + align4(n.desc.length));
      out.writeUInt32LE(namesz, 0);
      out.writeUInt32LE(n.desc.length, 4);
      out.writeUInt32LE(n.type, 8);
      out.write(n.name, 12, 'ascii');
      n.desc.copy(out, 12 + align4(namesz));
      return out;
    }),
  );
}

/**
 * An ELF64 file with a PT_LOAD and then one segment holding `notes`
 * (PT_NOTE unless `noteType` says otherwise).
 */
function elfWithNotes(notes: readonly Note[], options: { noteType?: number; elfClass?: number } = {}): Buffer {
  const phoff = 64;
  const phentsize = 56;
  const phnum = 2;
  const notesOff = phoff + phnum * phentsize + 8; // not directly after: p_offset is read
  const body = noteBytes(notes);
  const elf = Buffer.alloc(notesOff + body.length + 32);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, options.elfClass ?? 2, 1, 1]).copy(elf);
  elf.writeUInt16LE(2, 0x10); // ET_EXEC
  elf.writeUInt16LE(62, 0x12); // EM_X86_64
  elf.writeBigUInt64LE(BigInt(phoff), 0x20);
  elf.writeUInt16LE(64, 0x34);
  elf.writeUInt16LE(phentsize, 0x36);
  elf.writeUInt16LE(phnum, 0x38);
  const ph = (i: number, type: number, offset: number, size: number): void => {
    const at = phoff + i * phentsize;
    elf.writeUInt32LE(type, at);
    elf.writeBigUInt64LE(BigInt(offset), at + 8);
    elf.writeBigUInt64LE(BigInt(size), at + 32); // p_filesz
    elf.writeBigUInt64LE(BigInt(size), at + 40); // p_memsz
  };
  ph(0, 1, 0, elf.length); // PT_LOAD over everything
  ph(1, options.noteType ?? 4, notesOff, body.length);
  body.copy(elf, notesOff);
  return elf;
}

const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const GNU_BUILD_ID: Note = { name: 'GNU', type: 3, desc: Buffer.alloc(20, 0xab) };
const LINUX_NOTE: Note = { name: 'Linux', type: 6, desc: Buffer.from('6.1.0\0') }; // namesz 6 pads to 8

describe('PVH entry note', () => {
  it('hasPvhEntry finds a "Xen" note of type 18 after notes of other owners', () => {
    const entry: Note = { name: 'Xen', type: XEN_ELFNOTE_PHYS32_ENTRY, desc: Buffer.from([0x60, 0x0b, 0x00, 0x01]) };
    assert.equal(hasPvhEntry(elfWithNotes([GNU_BUILD_ID, LINUX_NOTE, entry])), true);
    assert.equal(hasPvhEntry(elfWithNotes([entry])), true);
  });

  it('hasPvhEntry is false when the Xen notes lack type 18', () => {
    const others: Note[] = [
      { name: 'Xen', type: 17, desc: Buffer.alloc(8) },
      { name: 'Xen', type: 6, desc: Buffer.from('linux\0') },
    ];
    assert.equal(hasPvhEntry(elfWithNotes([GNU_BUILD_ID, ...others])), false);
  });

  it('hasPvhEntry is false for a type 18 note of another owner', () => {
    assert.equal(hasPvhEntry(elfWithNotes([{ name: 'Xenon', type: 18, desc: Buffer.alloc(4) }])), false);
    assert.equal(hasPvhEntry(elfWithNotes([{ name: 'GNU', type: 18, desc: Buffer.alloc(4) }])), false);
  });

  it('hasPvhEntry only reads PT_NOTE segments', () => {
    const entry: Note = { name: 'Xen', type: XEN_ELFNOTE_PHYS32_ENTRY, desc: Buffer.alloc(4) };
    assert.equal(hasPvhEntry(elfWithNotes([entry], { noteType: 6 /* PT_PHDR */ })), false);
  });

  it('hasPvhEntry is false for an ELF32 file and for something too short to be ELF', () => {
    const entry: Note = { name: 'Xen', type: XEN_ELFNOTE_PHYS32_ENTRY, desc: Buffer.alloc(4) };
    assert.equal(hasPvhEntry(elfWithNotes([entry], { elfClass: 1 })), false);
    assert.equal(hasPvhEntry(Buffer.alloc(10)), false);
  });
});

describe('bzImage of the installed Debian kernels', () => {
  const compressionOf: Record<string, Compression> = { '6.1': 'xz', '6.12': 'zstd' };
  for (const { series } of REQUIRED_SERIES) {
    const kernel = installedKernel(series);
    const compression = compressionOf[series];
    it(`the ${kernel.title} image has a 2.08+ setup header and a ${compression} payload`, function () {
      const image = fs.readFileSync(kernel.get().image);
      const h = parseSetupHeader(image);
      assert.ok(h.protocol.major > 2 || (h.protocol.major === 2 && h.protocol.minor >= 8));
      const p = extractPayload(image);
      assert.equal(detectCompression(p.data), compression);
      assert.ok(p.expectedSize > image.length, 'vmlinux is larger than the compressed image');
    });
  }
});

describe('hasPvhEntry on damaged input', function () {
  it('returns false, never throws, for truncated or corrupt ELF headers', function () {
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[4] = 2;
    elf.writeBigUInt64LE(4096n, 0x20); // program headers beyond the end
    elf.writeUInt16LE(56, 0x36);
    elf.writeUInt16LE(3, 0x38);
    assert.equal(hasPvhEntry(elf), false);
    assert.equal(hasPvhEntry(Buffer.alloc(10)), false);
  });
});
