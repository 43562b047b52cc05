/**
 * Building (and caching) the per-kernel initramfs: static busybox, /init,
 * and the modules resolved for that kernel, decompressed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { cacheDir, REPO_ROOT } from '../paths';
import { useCached, writeVerified } from '../util/verified-cache';
import { writeCpio, type CpioEntry } from './cpio';
import { IMAGE_MODULES_FILE, initScript } from './guest-init';
import { flavourPackages, kernelName, type Kernel } from './kernels';
import {
  IMAGE_ROOT_MODULE_ROOTS,
  INITRAMFS_MODULE_ROOTS,
  loadModuleIndex,
  type ModuleIndex,
  readModule,
  resolveLoadOrder,
} from './modules';
import { got } from '../util/at';

export const BUSYBOX = '/bin/busybox';
export const MSIZE = 512 * 1024;

export interface InitramfsPlan {
  modules: Array<{ name: string; data: Buffer }>;
  /**
   * What the image root (a template VM) loads besides `modules`, in order;
   * null when this kernel cannot have one, with the reason.
   */
  imageModules?: { modules: Array<{ name: string; data: Buffer }> } | { missing: string };
  busybox: Buffer;
  init: string;
}

/** The command init runs, chrooted into the image root, to start a template's agent. */
export function templateAgentCommand(): string {
  return `${process.execPath} ${path.join(REPO_ROOT, 'dist', 'lib', 'runner', 'agent.js')} --template`;
}

/** Why this kernel's initramfs has no image root, or null when it has one. */
export function imageRootMissing(plan: InitramfsPlan): string | null {
  return plan.imageModules !== undefined && 'missing' in plan.imageModules ? plan.imageModules.missing : null;
}

/** The image root's extra modules (those `common` does not already load), or why there are none. */
function planImageModules(modulesDir: string, index: ModuleIndex, common: readonly string[]): NonNullable<InitramfsPlan['imageModules']> {
  let names: string[];
  try {
    names = resolveLoadOrder(index, IMAGE_ROOT_MODULE_ROOTS).filter((n) => !common.includes(n));
  } catch (err) {
    return { missing: err instanceof Error ? err.message : String(err) };
  }
  return {
    modules: names.map((name) => ({
      name,
      data: readModule(modulesDir, got(index.paths, name, 'the path of a module in the load order')),
    })),
  };
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
      `${busyboxPath} is dynamically linked; the initramfs needs a static one: ` + 'apt-get install busybox-static',
    );
  }
  let modules: InitramfsPlan['modules'] = [];
  let imageModules: NonNullable<InitramfsPlan['imageModules']> = { modules: [] };
  const modulesDir = kernel.modulesDir;
  if (modulesDir !== null) {
    const index = loadModuleIndex(modulesDir);
    const names = resolveLoadOrder(index, INITRAMFS_MODULE_ROOTS);
    modules = names.map((name) => ({
      name,
      data: readModule(modulesDir, got(index.paths, name, 'the path of a module in the load order')),
    }));
    imageModules = planImageModules(modulesDir, index, names);
  }
  const image = 'modules' in imageModules;
  return { modules, imageModules, busybox, init: initScript(MSIZE, image ? templateAgentCommand() : null) };
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
  const extra = plan.imageModules !== undefined && 'modules' in plan.imageModules ? plan.imageModules.modules : [];
  entries.push({
    kind: 'file',
    path: IMAGE_MODULES_FILE,
    data: Buffer.from(extra.map((m) => `${m.name}\n`).join('')),
  });
  entries.push({ kind: 'dir', path: 'lib/mmaplab-initramfs' });
  for (const m of [...plan.modules, ...extra]) {
    entries.push({ kind: 'file', path: `lib/mmaplab-initramfs/${m.name}.ko`, data: m.data });
  }
  return writeCpio(entries);
}

/** Content hash of everything that goes into the image. */
export function planKey(kernel: Kernel, plan: InitramfsPlan): string {
  const h = crypto.createHash('sha256');
  h.update(kernel.release).update('\0').update(plan.init).update('\0').update(plan.busybox);
  for (const m of plan.modules) h.update('\0').update(m.name).update('\0').update(m.data);
  if (plan.imageModules !== undefined && 'modules' in plan.imageModules) {
    h.update('\0image');
    for (const m of plan.imageModules.modules) h.update('\0').update(m.name).update('\0').update(m.data);
  }
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

/**
 * Why this kernel cannot run mmaplab's VMs, in a few words, or null. The
 * guest's root and its results travel over 9p on virtio, so a kernel whose
 * modules and built-ins lack one of the initramfs's roots cannot (Debian's
 * -cloud flavours have no 9p at all).
 */
export function bootProblem(kernel: Kernel): string | null {
  if (kernel.modulesDir === null) return null;
  try {
    resolveLoadOrder(loadModuleIndex(kernel.modulesDir), INITRAMFS_MODULE_ROOTS);
    return null;
  } catch (err) {
    if (err instanceof MmaplabError && err.code === 'ENOMODULES') return err.message.replace(/^kernel has /, 'it has ');
    throw err;
  }
}

/** Refuse, in one line with what to use instead, a kernel that cannot run mmaplab's VMs. */
export function requireBootable(kernel: Kernel): void {
  const problem = bootProblem(kernel);
  if (problem === null) return;
  throw new MmaplabError(
    'EUNBOOTABLE',
    `${kernelName(kernel)} (${kernel.release}) cannot run in mmaplab's VMs: ${problem}, and the guest's root ` +
      `and results travel over 9p on virtio. Use the generic kernel of the series (--kernel ${kernel.series}: ` +
      `apt-get install ${flavourPackages(kernel.series, 'generic')}) or the rt one`,
    { release: kernel.release },
  );
}
