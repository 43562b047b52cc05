/**
 * Resolving the kernel modules the initramfs needs from the kernel's own
 * dependency data (modules.dep, modules.builtin), so nothing is hard-coded per
 * kernel: on 6.1 virtio itself is a module, on 6.12 it is built in, and a
 * self-built kernel may have everything built in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MmaplabError } from '../util/errors';

/**
 * What the guest needs: the virtio-pci transport, 9p over virtio, overlayfs,
 * and virtio-blk for the VM's scratch disk (and an image root's runtime image).
 */
export const INITRAMFS_MODULE_ROOTS = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'virtio_blk'] as const;
/**
 * What a template VM's image root needs besides: the runtime image's disk and
 * filesystem, and the control port. ext4 allocates the crc32c hash at every
 * mount, even without metadata_csum, and modules.dep does not name it (a
 * softdep only), so crc32c_generic is a root of its own.
 */
export const IMAGE_ROOT_MODULE_ROOTS = ['virtio_blk', 'crc32c_generic', 'ext4', 'virtio_console'] as const;

export interface ModuleIndex {
  /** module name (dashes as underscores) -> path relative to the modules dir */
  paths: Map<string, string>;
  /** module name -> names of its direct dependencies */
  deps: Map<string, string[]>;
  builtin: Set<string>;
}

export function moduleName(relPath: string): string {
  const base = path.basename(relPath).replace(/\.ko(\.(xz|gz|zst))?$/, '');
  return base.replace(/-/g, '_');
}

export function parseModulesDep(text: string): Pick<ModuleIndex, 'paths' | 'deps'> {
  const paths = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const mod = line.slice(0, colon).trim();
    if (mod === '') continue;
    const name = moduleName(mod);
    paths.set(name, mod);
    deps.set(
      name,
      line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .filter((s) => s !== '')
        .map(moduleName),
    );
  }
  return { paths, deps };
}

export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map(moduleName),
  );
}

export function loadModuleIndex(modulesDir: string): ModuleIndex {
  const depFile = path.join(modulesDir, 'modules.dep');
  if (!fs.existsSync(depFile)) {
    throw new MmaplabError('ENOMODULES', `${depFile} is missing (run depmod for that kernel)`);
  }
  const { paths, deps } = parseModulesDep(fs.readFileSync(depFile, 'utf8'));
  const builtinFile = path.join(modulesDir, 'modules.builtin');
  const builtin = fs.existsSync(builtinFile) ? parseModulesBuiltin(fs.readFileSync(builtinFile, 'utf8')) : new Set<string>();
  return { paths, deps, builtin };
}

/**
 * The modules to load for `roots`, dependencies first, each once. A root
 * that is built in is skipped; a root that is neither a module nor built in
 * is an error naming it.
 */
export function resolveLoadOrder(index: ModuleIndex, roots: readonly string[]): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (done.has(name) || index.builtin.has(name)) return;
    if (!index.paths.has(name)) {
      const via = chain.length > 0 ? ` (needed by ${chain.join(' <- ')})` : '';
      throw new MmaplabError('ENOMODULES', `kernel has neither a module nor a built-in ${name}${via}`, { module: name });
    }
    if (visiting.has(name)) throw new MmaplabError('ENOMODULES', `dependency cycle at ${name}`);
    visiting.add(name);
    for (const dep of index.deps.get(name) ?? []) visit(dep, [name, ...chain]);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const root of roots) visit(root, []);
  return order;
}

/** Module file contents, decompressed: busybox insmod takes plain ELF only. */
export function readModule(modulesDir: string, relPath: string): Buffer {
  const file = path.join(modulesDir, relPath);
  const tool = relPath.endsWith('.xz')
    ? ['xz', '-dc']
    : relPath.endsWith('.zst')
      ? ['zstd', '-dcq']
      : relPath.endsWith('.gz')
        ? ['gzip', '-dc']
        : null;
  if (tool === null) return fs.readFileSync(file);
  const [cmd, ...args] = tool as [string, ...string[]];
  const r = spawnSync(cmd, [...args, file], { maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) {
    throw new MmaplabError('ENOMODULES', `cannot decompress ${file} with ${cmd}`);
  }
  return r.stdout;
}
