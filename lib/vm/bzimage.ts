/**
 * Getting the ELF vmlinux out of an x86 bzImage, so QEMU can boot it through
 * the PVH entry point and skip the in-guest decompressor (seconds under TCG).
 *
 * Boot protocol facts used: the setup header holds `setup_sects` at 0x1f1
 * (0 means 4), the "HdrS" magic at 0x202, and since protocol 2.08
 * `payload_offset` (0x248) / `payload_length` (0x24c), relative to the start of
 * the protected-mode code, which begins after (setup_sects + 1) * 512 bytes.
 * The kernel build appends the decompressed size as a little-endian u32 to the
 * compressed payload, so the output can be checked.
 */
import { spawnSync } from 'node:child_process';
import { MmaplabError } from '../util/errors';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'lz4' | 'lzma' | 'bzip2' | 'lzo';

export interface SetupHeader {
  setupSects: number;
  protocol: { major: number; minor: number };
  /** Byte offset of the compressed payload within the file. */
  payloadStart: number;
  /** Length of the payload including the trailing size word. */
  payloadLength: number;
}

export interface Payload {
  compression: Compression;
  /** The compressed stream without the trailing size word. */
  data: Buffer;
  /** Decompressed size recorded by the kernel build. */
  expectedSize: number;
}

/** The x86 boot protocol's magic, "HdrS" at 0x202: every bzImage has it (the PE "MZ" at 0 only one with the EFI stub). */
export const BZIMAGE_MAGIC = { magic: Buffer.from('HdrS', 'latin1'), magicOffset: 0x202 } as const;

export function parseSetupHeader(image: Buffer): SetupHeader {
  if (image.length < 0x250) {
    throw new MmaplabError('EBZIMAGE', 'file too short to be a bzImage');
  }
  const { magic, magicOffset } = BZIMAGE_MAGIC;
  if (!image.subarray(magicOffset, magicOffset + magic.length).equals(magic)) {
    throw new MmaplabError('EBZIMAGE', 'no "HdrS" boot-protocol magic at 0x202: not an x86 bzImage');
  }
  const version = image.readUInt16LE(0x206);
  const protocol = { major: version >> 8, minor: version & 0xff };
  if (version < 0x0208) {
    throw new MmaplabError('EBZIMAGE', `boot protocol ${protocol.major}.${protocol.minor} has no payload fields (needs 2.08)`);
  }
  const setupSects = image.readUInt8(0x1f1) || 4;
  const payloadOffset = image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c);
  const payloadStart = (setupSects + 1) * 512 + payloadOffset;
  if (payloadLength < 8 || payloadStart + payloadLength > image.length) {
    throw new MmaplabError('EBZIMAGE', 'payload offset/length point outside the file');
  }
  return { setupSects, protocol, payloadStart, payloadLength };
}

const MAGICS: ReadonlyArray<{ compression: Compression; magic: number[] }> = [
  { compression: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { compression: 'gzip', magic: [0x1f, 0x8b] },
  { compression: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18] },
  { compression: 'bzip2', magic: [0x42, 0x5a, 0x68] },
  { compression: 'lzo', magic: [0x89, 0x4c, 0x5a, 0x4f] },
  { compression: 'lzma', magic: [0x5d, 0x00, 0x00] },
];

export function detectCompression(data: Buffer): Compression {
  for (const { compression, magic } of MAGICS) {
    if (magic.every((b, i) => data[i] === b)) return compression;
  }
  const head = data.subarray(0, 6).toString('hex');
  throw new MmaplabError('EBZIMAGE', `unknown payload compression (first bytes ${head})`);
}

export function extractPayload(image: Buffer): Payload {
  const h = parseSetupHeader(image);
  const raw = image.subarray(h.payloadStart, h.payloadStart + h.payloadLength);
  const data = raw.subarray(0, raw.length - 4);
  return {
    compression: detectCompression(data),
    data,
    expectedSize: raw.readUInt32LE(raw.length - 4),
  };
}

/** The host tool (and the Debian package providing it) for each format. */
const DECOMPRESSORS: Record<Compression, { argv: string[]; pkg: string }> = {
  xz: { argv: ['xz', '-dc', '--single-stream'], pkg: 'xz-utils' },
  zstd: { argv: ['zstd', '-dcq'], pkg: 'zstd' },
  gzip: { argv: ['gzip', '-dc'], pkg: 'gzip' },
  lz4: { argv: ['lz4', '-dc'], pkg: 'lz4' },
  lzma: { argv: ['xz', '-dc', '--format=lzma'], pkg: 'xz-utils' },
  bzip2: { argv: ['bzip2', '-dc'], pkg: 'bzip2' },
  lzo: { argv: ['lzop', '-dc'], pkg: 'lzop' },
};

export function decompress(compression: Compression, data: Buffer): Buffer {
  const { argv, pkg } = DECOMPRESSORS[compression];
  const [cmd, ...args] = argv as [string, ...string[]];
  const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new MmaplabError('ENOTOOL', `${cmd} is not installed: apt-get install ${pkg}`);
    }
    throw r.error;
  }
  if (r.status !== 0) {
    throw new MmaplabError('EBZIMAGE', `${cmd} failed: ${r.stderr.toString().trim()}`);
  }
  return r.stdout;
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** bzImage bytes -> ELF vmlinux bytes, checked against the recorded size. */
export function extractVmlinux(image: Buffer): Buffer {
  const payload = extractPayload(image);
  const elf = decompress(payload.compression, payload.data);
  if (elf.length !== payload.expectedSize) {
    throw new MmaplabError('EBZIMAGE', `decompressed ${elf.length} bytes, the image records ${payload.expectedSize}`);
  }
  if (!elf.subarray(0, 4).equals(ELF_MAGIC)) {
    throw new MmaplabError('EBZIMAGE', 'payload is not an ELF image');
  }
  return elf;
}

/**
 * Whether an ELF64 vmlinux carries the Xen PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY, type 18, owner "Xen"): QEMU needs it to boot
 * the ELF directly. Kernels built without CONFIG_PVH lack it.
 */
export function hasPvhEntry(elf: Buffer): boolean {
  // Any offset that points outside the file means "no usable note", never a throw.
  const fits = (off: number, len: number): boolean => off >= 0 && off + len <= elf.length;
  if (!fits(0, 64) || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // ELFCLASS64 only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (!fits(ph, 56)) return false;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    let off = Number(elf.readBigUInt64LE(ph + 8));
    const end = off + Number(elf.readBigUInt64LE(ph + 32));
    if (!fits(off, end - off)) return false;
    while (off + 12 <= end) {
      const namesz = elf.readUInt32LE(off);
      const descsz = elf.readUInt32LE(off + 4);
      const type = elf.readUInt32LE(off + 8);
      if (!fits(off + 12, namesz)) return false;
      const name = elf.toString('ascii', off + 12, off + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === 18) return true;
      off += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}
