/**
 * Building (and caching) the per-kernel initramfs: static busybox, /init,
 * and the modules resolved for that kernel, decompressed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { cacheDir } from '../paths';
import { useCached, writeVerified } from '../util/verified-cache';
import { writeCpio, type CpioEntry } from './cpio';
import { initScript } from './guest-init';
import type { Kernel } from './kernels';
import {
  INITRAMFS_MODULE_ROOTS,
  loadModuleIndex,
  readModule,
  resolveLoadOrder,
} from './modules';

export const BUSYBOX = '/bin/busybox';
export const MSIZE = 512 * 1024;

export interface InitramfsPlan {
  modules: Array<{ name: string; data: Buffer }>;
  busybox: Buffer;
  init: string;
}

function isStaticElf(data: Buffer): boolean {
  // A static binary has no PT_INTERP program header.
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) return false;
  if (data[4] !== 2) return false; // ELFCLASS64
  const phoff = Number(data.readBigUInt64LE(0x20));
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  if (phnum === 0 || phoff + phnum * phentsize > data.length) return false; // truncated
  for (let i = 0; i < phnum; i++) {
    if (data.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  }
  return true;
}

export function planInitramfs(kernel: Kernel, busyboxPath = BUSYBOX): InitramfsPlan {
  if (!fs.existsSync(busyboxPath)) {
    throw new MmaplabError('ENOTOOL', `${busyboxPath} is missing: apt-get install busybox-static`);
  }
  const busybox = fs.readFileSync(busyboxPath);
  if (!isStaticElf(busybox)) {
    throw new MmaplabError(
      'ENOTOOL',
      `${busyboxPath} is dynamically linked; the initramfs needs a static one: ` +
        'apt-get install busybox-static',
    );
  }
  let modules: InitramfsPlan['modules'] = [];
  if (kernel.modulesDir !== null) {
    const index = loadModuleIndex(kernel.modulesDir);
    modules = resolveLoadOrder(index, INITRAMFS_MODULE_ROOTS).map((name) => ({
      name,
      data: readModule(kernel.modulesDir as string, index.paths.get(name) as string),
    }));
  }
  return { modules, busybox, init: initScript(MSIZE) };
}

export function renderInitramfs(plan: InitramfsPlan): Buffer {
  const entries: CpioEntry[] = [];
  for (const d of ['bin', 'dev', 'etc', 'host', 'lib', 'newroot', 'proc', 'rw', 'sys']) {
    entries.push({ kind: 'dir', path: d });
  }
  entries.push({ kind: 'file', path: 'bin/busybox', data: plan.busybox, mode: 0o755 });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(plan.init), mode: 0o755 });
  entries.push({
    kind: 'file',
    path: 'etc/mmaplab-modules',
    data: Buffer.from(plan.modules.map((m) => m.name).join('\n') + '\n'),
  });
  entries.push({ kind: 'dir', path: 'lib/mmaplab-initramfs' });
  for (const m of plan.modules) {
    entries.push({ kind: 'file', path: `lib/mmaplab-initramfs/${m.name}.ko`, data: m.data });
  }
  return writeCpio(entries);
}

/** Content hash of everything that goes into the image. */
export function planKey(kernel: Kernel, plan: InitramfsPlan): string {
  const h = crypto.createHash('sha256');
  h.update(kernel.release).update('\0').update(plan.init).update('\0').update(plan.busybox);
  for (const m of plan.modules) h.update('\0').update(m.name).update('\0').update(m.data);
  return h.digest('hex').slice(0, 16);
}

/** Path of the cached initramfs for this kernel, building it if needed. */
export function ensureInitramfs(kernel: Kernel, busyboxPath = BUSYBOX): string {
  const plan = planInitramfs(kernel, busyboxPath);
  const dir = path.join(cacheDir(), 'kernels', kernel.release);
  const file = path.join(dir, `initramfs-${planKey(kernel, plan)}.cpio`);
  // Verified on every use (size, sha256): a corrupt one is rebuilt.
  if (useCached(file, `initramfs for ${kernel.release}`)) return file;
  fs.mkdirSync(dir, { recursive: true });
  for (const old of fs.readdirSync(dir)) {
    if (old.startsWith('initramfs-')) fs.rmSync(path.join(dir, old), { force: true });
  }
  writeVerified(file, renderInitramfs(plan));
  return file;
}
