/**
 * Building mmaplab.ko for one kernel with that kernel's kbuild. Each kernel
 * gets its own copy of the sources under the cache (kbuild writes objects
 * next to them), rebuilt only when the sources or the kbuild tree changed.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { REPO_ROOT, cacheDir } from '../paths';
import { ELF_MAGIC, sealFile, useCached } from '../util/verified-cache';
import type { Kernel } from './kernels';

export const KMOD_SRC = path.join(REPO_ROOT, 'kmod');
export const BUILD_LOG = 'build.log';

/** Compiler diagnostics in a kbuild log (kbuild's own notes are not warnings). */
export function compilerWarnings(log: string): string[] {
  return log.split('\n').filter((l) => /\b(warning|error):/i.test(l));
}

/** The log of the build that produced the cached module, or null. */
export function lastBuildLog(kernel: Kernel): string | null {
  try {
    return fs.readFileSync(path.join(moduleBuildDir(kernel), BUILD_LOG), 'utf8');
  } catch {
    return null;
  }
}

function sourceFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, ent.name);
    if (ent.isDirectory()) out.push(...sourceFiles(dir, r));
    // kbuild's own generated .mod.c files are not sources
    else if (/\.(c|h)$|^Kbuild$|^Makefile$/.test(ent.name) && !ent.name.endsWith('.mod.c')) out.push(r);
  }
  return out.sort();
}

function sourceKey(kernel: Kernel, srcDir: string, files: string[]): string {
  const h = crypto.createHash('sha256').update(kernel.release);
  const symvers = path.join(kernel.buildDir, 'Module.symvers');
  if (fs.existsSync(symvers)) h.update(String(fs.statSync(symvers).mtimeMs));
  for (const f of files)
    h.update('\0')
      .update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(srcDir, f)));
  return h.digest('hex').slice(0, 16);
}

export interface BuiltModule {
  path: string;
  /** Compiler output of the build (empty when it came from the cache). */
  log: string;
  warnings: string[];
  cached: boolean;
}

export function moduleBuildDir(kernel: Kernel): string {
  return path.join(cacheDir(), 'kmod', kernel.release);
}

export function ensureModule(kernel: Kernel, opts: { force?: boolean } = {}): BuiltModule {
  return buildCached(kernel, KMOD_SRC, moduleBuildDir(kernel), 'mmaplab.ko', opts.force ?? false);
}

/**
 * An out-of-tree module of the user's (`mmaplab check --kmod DIR`), built
 * for `kernel` exactly as mmaplab's own: a copy of DIR's sources (.c, .h,
 * Kbuild, Makefile) under the cache, kbuild's `modules` target, rebuilt
 * only when they or the kbuild tree change. DIR must build one module.
 */
export function ensureUserModule(kernel: Kernel, srcDir: string): BuiltModule {
  const abs = path.resolve(srcDir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new MmaplabError('EUSAGE', `--kmod ${srcDir}: not a directory (give the module's source directory, with its Kbuild or Makefile)`);
  }
  if (!['Kbuild', 'Makefile'].some((f) => fs.existsSync(path.join(abs, f)))) {
    throw new MmaplabError('EUSAGE', `--kmod ${srcDir}: no Kbuild or Makefile there (kbuild needs one with obj-m := NAME.o)`);
  }
  const tag = crypto.createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return buildCached(kernel, abs, path.join(cacheDir(), 'user-kmod', `${path.basename(abs)}-${tag}`, kernel.release), null, false);
}

/**
 * Build the module in `srcDir` for `kernel` in `dir` (a copy of the
 * sources), or take the cached one. `koName` null: whatever single .ko
 * the build makes.
 */
function buildCached(kernel: Kernel, srcDir: string, dir: string, koName: string | null, force: boolean): BuiltModule {
  if (!fs.existsSync(path.join(kernel.buildDir, 'Makefile'))) {
    throw new MmaplabError(
      'ENOHEADERS',
      `no kbuild tree for ${kernel.release} at ${kernel.buildDir}: ` + `apt-get install linux-headers-${kernel.release}`,
    );
  }
  const files = sourceFiles(srcDir);
  const key = sourceKey(kernel, srcDir, files);
  const stamp = path.join(dir, '.source-key');
  const builtKo = (): string | null => {
    if (koName !== null) return fs.existsSync(path.join(dir, koName)) ? path.join(dir, koName) : null;
    const kos = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ko')) : [];
    return kos.length === 1 && kos[0] !== undefined ? path.join(dir, kos[0]) : null;
  };
  const cachedKo = builtKo();
  const fresh =
    !force &&
    cachedKo !== null &&
    fs.existsSync(path.join(dir, BUILD_LOG)) &&
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8') === key &&
    // Verified on every use (size, ELF magic, sha256): a corrupt one is rebuilt.
    useCached(cachedKo, `${path.basename(cachedKo)} for ${kernel.release}`, { magic: ELF_MAGIC });
  if (fresh) {
    return { path: cachedKo, log: '', warnings: [], cached: true };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(srcDir, f), path.join(dir, f));
  }
  const r = spawnSync('make', ['-C', kernel.buildDir, `M=${dir}`, 'modules'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  // Kept beside the module: "builds warning-free" is checked from this log.
  fs.writeFileSync(path.join(dir, BUILD_LOG), log);
  if (r.error) {
    throw new MmaplabError('EKMODBUILD', `cannot run make: ${r.error.message} (apt-get install build-essential)`);
  }
  const ko = builtKo();
  const what = koName ?? `the module in ${srcDir}`;
  if (r.status !== 0 || ko === null) {
    const why = r.status === 0 ? `: the build made ${koName === null ? 'no single .ko' : `no ${koName}`}` : '';
    throw new MmaplabError('EKMODBUILD', `building ${what} for ${kernel.release} failed${why}:\n${log}`, {
      release: kernel.release,
      log,
    });
  }
  sealFile(ko);
  fs.writeFileSync(stamp, key);
  return { path: ko, log, warnings: compilerWarnings(log), cached: false };
}
