/** The cached ELF vmlinux of a kernel, or null when it cannot boot via PVH. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../paths';
import { ELF_MAGIC, useCached, writeVerified } from '../util/verified-cache';
import { extractVmlinux, hasPvhEntry } from './bzimage';
import type { Kernel } from './kernels';

export interface BootImage {
  /** The file QEMU gets as -kernel. */
  path: string;
  /** 'vmlinux': PVH entry, no in-guest decompression; 'bzimage': the slow path. */
  kind: 'vmlinux' | 'bzimage';
}

function imageKey(image: string): string {
  const st = fs.statSync(image);
  return crypto
    .createHash('sha256')
    .update(`${path.resolve(image)}\0${st.size}\0${st.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
}

export function ensureBootImage(kernel: Kernel, prefer: 'vmlinux' | 'bzimage' = 'vmlinux'): BootImage {
  if (prefer === 'bzimage') return { path: kernel.image, kind: 'bzimage' };
  const dir = path.join(cacheDir(), 'kernels', kernel.release);
  const key = imageKey(kernel.image);
  const file = path.join(dir, `vmlinux-${key}`);
  const noPvh = path.join(dir, `no-pvh-${key}`);
  // Verified on every use (size, ELF magic, sha256): a corrupt one is rebuilt.
  if (useCached(file, `vmlinux for ${kernel.release}`, { magic: ELF_MAGIC })) return { path: file, kind: 'vmlinux' };
  if (fs.existsSync(noPvh)) return { path: kernel.image, kind: 'bzimage' };
  fs.mkdirSync(dir, { recursive: true });
  const elf = extractVmlinux(fs.readFileSync(kernel.image));
  if (!hasPvhEntry(elf)) {
    // Built without CONFIG_PVH: remember that and boot the bzImage instead.
    fs.writeFileSync(noPvh, '');
    return { path: kernel.image, kind: 'bzimage' };
  }
  for (const old of fs.readdirSync(dir)) {
    if (old.startsWith('vmlinux-')) fs.rmSync(path.join(dir, old), { force: true });
  }
  writeVerified(file, elf);
  return { path: file, kind: 'vmlinux' };
}
