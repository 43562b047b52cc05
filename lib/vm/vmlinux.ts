/** The cached ELF vmlinux of a kernel, or null when it cannot boot via PVH. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../paths';
import { withoutEscapes } from '../util/escapes';
import { ELF_MAGIC, SIDECAR_SUFFIX, useCached, writeVerified } from '../util/verified-cache';
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

function cachePaths(kernel: Kernel): { dir: string; file: string; noPvh: string } {
  const dir = path.join(cacheDir(), 'kernels', kernel.release);
  const key = imageKey(kernel.image);
  return { dir, file: path.join(dir, `vmlinux-${key}`), noPvh: path.join(dir, `no-pvh-${key}`) };
}

export function ensureBootImage(kernel: Kernel, prefer: 'vmlinux' | 'bzimage' = 'vmlinux'): BootImage {
  if (prefer === 'bzimage') return { path: kernel.image, kind: 'bzimage' };
  const { dir, file, noPvh } = cachePaths(kernel);
  // The marker first: it outranks a vmlinux another process extracted meanwhile.
  if (fs.existsSync(noPvh)) return { path: kernel.image, kind: 'bzimage' };
  // Verified on every use (size, ELF magic, sha256): a corrupt one is rebuilt.
  if (useCached(file, `vmlinux for ${kernel.release}`, { magic: ELF_MAGIC })) return { path: file, kind: 'vmlinux' };
  fs.mkdirSync(dir, { recursive: true });
  const elf = extractVmlinux(fs.readFileSync(kernel.image));
  if (!hasPvhEntry(elf)) {
    // Built without CONFIG_PVH: remember that and boot the bzImage instead.
    fs.writeFileSync(noPvh, 'no PVH entry note in the kernel image\n');
    return { path: kernel.image, kind: 'bzimage' };
  }
  for (const old of fs.readdirSync(dir)) {
    if (old.startsWith('vmlinux-')) fs.rmSync(path.join(dir, old), { force: true });
  }
  writeVerified(file, elf);
  return { path: file, kind: 'vmlinux' };
}

/** Console lines the firmware prints before any kernel runs. */
const FIRMWARE_LINE = /^(SeaBIOS \(version|Booting from ROM|iPXE|Press Ctrl-B)/;

/**
 * Whether a boot of the extracted vmlinux died at the PVH entry: the guest
 * reset (QEMU runs with -no-reboot, so it exits) before the kernel printed
 * anything, not even a panic, which `quiet` still shows. A 6.1 kernel built
 * with KASAN does this: its PVH entry code is instrumented and touches KASAN
 * shadow memory before the shadow exists (6.12 builds that code without KASAN).
 */
export function pvhEntryFailed(
  image: BootImage | undefined,
  outcome: { end: string; marks: Record<string, number>; consoleTail: readonly string[] },
): boolean {
  if (image?.kind !== 'vmlinux' || outcome.end !== 'exited') return false;
  if (Object.keys(outcome.marks).length > 0) return false;
  // SeaBIOS wraps its lines in terminal escapes.
  return outcome.consoleTail.map((l) => withoutEscapes(l).trim()).every((l) => l === '' || FIRMWARE_LINE.test(l));
}

/**
 * Records that this kernel's image does not boot through its PVH entry, so
 * every later boot (and template) uses the bzImage. The reason, naming the
 * run directory that showed it, is kept in the marker file for whoever looks
 * at the cache, and returned for the caller's log line.
 */
export function refusePvh(kernel: Kernel, runDir: string): string {
  const why = `the guest reset before the kernel printed anything when booted at its PVH entry (run directory ${runDir})`;
  const { dir, file, noPvh } = cachePaths(kernel);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(noPvh, `${why}\n`);
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}${SIDECAR_SUFFIX}`, { force: true });
  return why;
}
