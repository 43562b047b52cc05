/**
 * A writer for the cpio "newc" format (the one the kernel unpacks as an
 * initramfs): 110-byte ASCII-hex header, NUL-terminated name, data, each
 * padded to 4 bytes, and a "TRAILER!!!" entry at the end.
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MAGIC = '070701';

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`cpio field out of range: ${n}`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(fields: { ino: number; mode: number; nlink: number; size: number; nameSize: number }): string {
  return (
    MAGIC +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(fields.nlink) +
    hex8(0) + // mtime: fixed so the archive is reproducible
    hex8(fields.size) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(0) + // rdevmajor
    hex8(0) + // rdevminor
    hex8(fields.nameSize) +
    hex8(0) // check
  );
}

function record(ino: number, mode: number, nlink: number, name: string, data: Buffer): Buffer[] {
  const nameBuf = Buffer.from(name + '\0', 'utf8');
  const head = Buffer.from(header({ ino, mode, nlink, size: data.length, nameSize: nameBuf.length }), 'ascii');
  const headAndName = head.length + nameBuf.length;
  return [head, nameBuf, pad4(headAndName), data, pad4(data.length)];
}

function normalise(path: string): string {
  const p = path.replace(/^\/+/, '');
  if (p === '' || p.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new RangeError(`invalid cpio path: ${JSON.stringify(path)}`);
  }
  return p;
}

/** Serialise entries in the given order (parents must come before children). */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  let ino = 1;
  for (const entry of entries) {
    const name = normalise(entry.path);
    if (seen.has(name)) throw new RangeError(`duplicate cpio path: ${name}`);
    seen.add(name);
    switch (entry.kind) {
      case 'dir':
        parts.push(...record(ino++, S_IFDIR | (entry.mode ?? 0o755), 2, name, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(...record(ino++, S_IFREG | (entry.mode ?? 0o644), 1, name, entry.data));
        break;
      case 'symlink':
        parts.push(...record(ino++, S_IFLNK | 0o777, 1, name, Buffer.from(entry.target, 'utf8')));
        break;
    }
  }
  parts.push(...record(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export interface CpioReadEntry {
  name: string;
  mode: number;
  data: Buffer;
}

/** Parse a newc archive (used by the tests and for inspecting cached images). */
export function readCpio(buf: Buffer): CpioReadEntry[] {
  const out: CpioReadEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > buf.length) throw new RangeError('truncated cpio header');
    const head = buf.toString('ascii', off, off + 110);
    if (!head.startsWith(MAGIC)) throw new RangeError(`bad cpio magic at ${off}`);
    const field = (i: number): number => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    let dataStart = nameStart + nameSize;
    dataStart += (4 - (dataStart % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    const data = buf.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new RangeError(`truncated cpio data for ${name}`);
    out.push({ name, mode, data });
    off = dataStart + size;
    off += (4 - (off % 4)) % 4;
  }
}
