/**
 * Cache entries that are verified, not trusted. Each cached file gets a
 * sidecar `<file>.sha256` (its sha256 and size, as JSON) written after the
 * file itself, both atomically (temporary file, then rename). Every use
 * checks the file against its sidecar: size first, then an optional magic,
 * then the hash (a 60 MB vmlinux hashes in about 50 ms). A file that is
 * missing its sidecar, or does not match it, is corrupt: one line says so,
 * both files go, and the caller rebuilds.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as v from 'valibot';
import { jsonOf } from './schema';

export const SIDECAR_SUFFIX = '.sha256';

const SidecarSchema = v.object({ sha256: v.string(), size: v.number() });
export type Sidecar = v.InferOutput<typeof SidecarSchema>;

export function sidecarPath(file: string): string {
  return `${file}${SIDECAR_SUFFIX}`;
}

/** sha256 of a file, read in 1 MiB chunks. */
export function hashFile(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function writeAtomically(file: string, data: string | Buffer, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data, mode === undefined ? {} : { mode });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Record what `file` holds now: its sidecar, written atomically. */
export function sealFile(file: string): Sidecar {
  const sidecar: Sidecar = { sha256: hashFile(file), size: fs.statSync(file).size };
  writeAtomically(sidecarPath(file), `${JSON.stringify(sidecar)}\n`);
  return sidecar;
}

/** Write a cache entry: the file (temporary, then rename), then its sidecar. */
export function writeVerified(file: string, data: Buffer, mode?: number): void {
  fs.rmSync(sidecarPath(file), { force: true });
  writeAtomically(file, data, mode);
  writeAtomically(
    sidecarPath(file),
    `${JSON.stringify({ sha256: crypto.createHash('sha256').update(data).digest('hex'), size: data.length })}\n`,
  );
}

export interface VerifyOptions {
  /** The file must hold these bytes at magicOffset (e.g. the ELF magic at 0). */
  magic?: Buffer;
  /** Where the magic is; default 0. */
  magicOffset?: number;
}

/** Why `file` does not match its sidecar, or null when it does. Missing file: 'missing'. */
export function cacheProblem(file: string, options: VerifyOptions = {}): string | null {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return 'missing';
  }
  let text: string;
  try {
    text = fs.readFileSync(sidecarPath(file), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no checksum file' : 'unreadable checksum file';
  }
  const read = jsonOf(SidecarSchema, text);
  if ('problem' in read) return `unreadable checksum file (${read.problem})`;
  const sidecar = read.value;
  if (size !== sidecar.size) return `size ${size}, expected ${sidecar.size}`;
  if (options.magic) {
    const head = Buffer.alloc(options.magic.length);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, options.magicOffset ?? 0);
    } finally {
      fs.closeSync(fd);
    }
    if (!head.equals(options.magic)) return 'bad magic';
  }
  if (hashFile(file) !== sidecar.sha256) return 'sha256 mismatch';
  return null;
}

/** Where the one line about a corrupt entry goes (tests replace it). */
export const cacheLog = {
  write: (line: string): void => {
    process.stderr.write(`mmaplab: ${line}\n`);
  },
};

/**
 * Is the cached `file` good to use? True when it matches its sidecar. A
 * missing file (with no sidecar) is a plain miss: false, silently. Anything
 * else is corruption: one line naming `what` and the reason, the file and
 * its sidecar are removed, false.
 */
export function useCached(file: string, what: string, options: VerifyOptions = {}): boolean {
  const problem = cacheProblem(file, options);
  if (problem === null) return true;
  if (problem === 'missing' && !fs.existsSync(sidecarPath(file))) return false;
  cacheLog.write(`cached ${what} is corrupt (${problem}); rebuilding`);
  fs.rmSync(file, { force: true });
  fs.rmSync(sidecarPath(file), { force: true });
  return false;
}

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
