/**
 * Kernels built from Debian's own sources for the guest: `mmaplab kernel
 * build 6.1-slab`. The source is the `linux-source-SERIES` package's tarball
 * and its base configuration Debian's amd64 one (shipped beside it), so a
 * built kernel differs from the stock kernel of its series only where a
 * profile says so, plus what makes the build fit a small machine:
 *
 * - every module is left out (the stock guest can load none but the few
 *   the initramfs carries, and those are built in instead), so the kernel
 *   boots with no modules directory;
 * - no debug information, no module signing keys of Debian's;
 * - no built-in subsystem the guest never reaches (GUEST_TRIM).
 *
 * A build is cached by content: the key hashes the source package's version,
 * the base configuration and the profile's edits. The entry is the build
 * tree (objects deleted; it stays a kbuild tree for mmaplab.ko), its log and
 * a manifest written last; its bzImage is sealed and verified on every use.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v from 'valibot';
import { cacheDir } from '../paths';
import { MmaplabError } from '../util/errors';
import { jsonOf } from '../util/schema';
import { sealFile, useCached } from '../util/verified-cache';
import { BZIMAGE_MAGIC } from './bzimage';
import { configValue } from './kernel-config';
import { isAlive } from './runtime-image';
import type { Kernel } from './kernels';

/** Bump when the recipe below changes what a build produces. */
const RECIPE_VERSION = 1;

/** A config edit: y, n, or a string value. */
export type ConfigValue = 'y' | 'n' | { str: string };

export interface BuildProfile {
  name: string;
  /** The series it can be built for (SLAB left the kernel in 6.8). */
  series: readonly string[];
  /** One line for `mmaplab kernels` and the help. */
  summary: string;
  edits: Readonly<Record<string, ConfigValue>>;
  /** Words the kernel command line needs for the profile's options to act. */
  cmdline: readonly string[];
}

/**
 * What every built kernel has built in: the guest's transports and
 * filesystems (the modules INITRAMFS_MODULE_ROOTS and IMAGE_ROOT_MODULE_ROOTS
 * name on a stock kernel), and no debug info or signing keys.
 */
export const GUEST_EDITS: Readonly<Record<string, ConfigValue>> = {
  VIRTIO: 'y',
  VIRTIO_PCI: 'y',
  VIRTIO_BLK: 'y',
  VIRTIO_CONSOLE: 'y',
  NET_9P: 'y',
  NET_9P_VIRTIO: 'y',
  '9P_FS': 'y',
  OVERLAY_FS: 'y',
  EXT4_FS: 'y',
  CRYPTO_CRC32C: 'y',
  DEBUG_INFO_NONE: 'y',
  DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT: 'n',
  DEBUG_INFO_DWARF4: 'n',
  DEBUG_INFO_DWARF5: 'n',
  DEBUG_INFO_BTF: 'n',
  MODULE_SIG_ALL: 'n',
  SYSTEM_TRUSTED_KEYS: { str: '' },
  SYSTEM_REVOCATION_KEYS: { str: '' },
  LOCALVERSION_AUTO: 'n',
};

/**
 * Built-in subsystems the guest never reaches, left out to shorten the build
 * (a 2-core machine compiles every object of a debug kernel under KASAN):
 * IPv6, netfilter, packet scheduling and wireless (the guest has no network
 * but loopback), Xen and EFI (QEMU boots it through PVH, kept on its own),
 * the IOMMU drivers (no virtual IOMMU: DMA stays direct, as on stock),
 * SELinux, AppArmor and TOMOYO (no policy is loaded; Yama, which decides who
 * may ptrace, Landlock, lockdown and IMA stay), audit, ftrace and kprobes,
 * BPF, MD RAID and device-mapper, kexec and hibernation, fscrypt and
 * fs-verity. No verdict depends on them, but some sit on the paths a
 * mapping takes, so times on a built kernel are not the stock kernel's:
 * without Xen PV the page-table setters are native code instead of pv_ops
 * calls, and without ftrace there are no uprobes (no hook at mmap, munmap
 * and fork).
 */
export const GUEST_TRIM: Readonly<Record<string, ConfigValue>> = {
  IPV6: 'n',
  NETFILTER: 'n',
  NET_SCHED: 'n',
  WIRELESS: 'n',
  WLAN: 'n',
  XEN: 'n',
  PVH: 'y',
  EFI: 'n',
  AMD_IOMMU: 'n',
  INTEL_IOMMU: 'n',
  SECURITY_SELINUX: 'n',
  SECURITY_APPARMOR: 'n',
  SECURITY_TOMOYO: 'n',
  AUDIT: 'n',
  FTRACE: 'n',
  KPROBES: 'n',
  BPF_SYSCALL: 'n',
  MD: 'n',
  KEXEC: 'n',
  KEXEC_FILE: 'n',
  HIBERNATION: 'n',
  FS_ENCRYPTION: 'n',
  FS_VERITY: 'n',
};

export const BUILD_PROFILES: readonly BuildProfile[] = [
  {
    name: 'slab',
    series: ['6.1'],
    summary: 'SLAB instead of SLUB (the allocator the kmalloc claim names)',
    edits: { SLUB: 'n', SLAB: 'y' },
    cmdline: [],
  },
  {
    name: 'debug',
    series: ['6.1', '6.12'],
    summary: 'DEBUG_VM, PAGE_TABLE_CHECK, DEBUG_PAGEALLOC, PAGE_OWNER, lockdep, KASAN',
    edits: {
      DEBUG_VM: 'y',
      DEBUG_VM_PGFLAGS: 'y',
      PAGE_TABLE_CHECK: 'y',
      PAGE_TABLE_CHECK_ENFORCED: 'y',
      DEBUG_PAGEALLOC: 'y',
      DEBUG_PAGEALLOC_ENABLE_DEFAULT: 'y',
      PAGE_OWNER: 'y',
      PROVE_LOCKING: 'y',
      DEBUG_ATOMIC_SLEEP: 'y',
      DEBUG_LIST: 'y',
      KASAN: 'y',
      KASAN_GENERIC: 'y',
      KASAN_OUTLINE: 'y',
    },
    cmdline: ['page_owner=on'],
  },
];

export function buildProfile(name: string): BuildProfile | undefined {
  return BUILD_PROFILES.find((p) => p.name === name);
}

/** The suffix a built kernel's release carries: 6.1.192-mmaplab-slab. */
export const BUILT_RELEASE_MARK = '-mmaplab-';

/** "6.1-slab" -> series and profile, or null when it is not a built kernel's name. */
export function parseBuildName(name: string): { series: string; profile: BuildProfile } | null {
  const [, series, profileName] = /^(\d+\.\d+)-([a-z0-9]+)$/.exec(name) ?? [];
  if (series === undefined || profileName === undefined) return null;
  const profile = buildProfile(profileName);
  return profile ? { series, profile } : null;
}

/** Where Debian's packages put the source and its configurations. */
export interface SourceRoots {
  src: string;
}
export const DEFAULT_SOURCE_ROOTS: SourceRoots = { src: '/usr/src' };

export interface Recipe {
  series: string;
  profile: BuildProfile;
  tarball: string;
  baseConfig: string;
  sourceVersion: string;
  edits: Record<string, ConfigValue>;
  key: string;
}

function sourcePackage(series: string): string {
  return `linux-source-${series}`;
}

function packageVersion(pkg: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
}

/** The recipe for SERIES-PROFILE, or an error saying what to install. */
export function recipeFor(series: string, profileName: string, roots: SourceRoots = DEFAULT_SOURCE_ROOTS): Recipe {
  const profile = buildProfile(profileName);
  if (!profile) {
    throw new MmaplabError('EUSAGE', `unknown build profile "${profileName}"; profiles: ${BUILD_PROFILES.map((p) => p.name).join(', ')}`);
  }
  if (!profile.series.includes(series)) {
    throw new MmaplabError(
      'EUSAGE',
      `profile ${profile.name} is for ${profile.series.join(', ')}, not ${series}` +
        (profile.name === 'slab' ? ' (SLAB was removed in 6.8)' : ''),
    );
  }
  const pkg = sourcePackage(series);
  const tarball = path.join(roots.src, `${pkg}.tar.xz`);
  const baseConfig = path.join(roots.src, `linux-config-${series}`, 'config.amd64_none_amd64.xz');
  // linux-config-SERIES is only a Recommends of linux-source-SERIES.
  for (const [file, what] of [
    [tarball, pkg],
    [baseConfig, `linux-config-${series}`],
  ] as const) {
    if (!fs.existsSync(file)) {
      throw new MmaplabError('ENOSOURCE', `Debian's ${series} source is not installed (no ${file}): apt-get install ${what}`, { series });
    }
  }
  const sourceVersion = packageVersion(pkg) ?? `size ${fs.statSync(tarball).size}`;
  const edits: Record<string, ConfigValue> = {
    ...GUEST_EDITS,
    ...GUEST_TRIM,
    ...profile.edits,
    LOCALVERSION: { str: `${BUILT_RELEASE_MARK}${profile.name}` },
  };
  const key = crypto
    .createHash('sha256')
    .update(`recipe ${RECIPE_VERSION}\0${series}\0${sourceVersion}\0`)
    .update(fs.readFileSync(baseConfig))
    .update(`\0${JSON.stringify(Object.entries(edits).sort())}`)
    .digest('hex')
    .slice(0, 16);
  return { series, profile, tarball, baseConfig, sourceVersion, edits, key };
}

/** Debian's configuration with every module left out (=m becomes unset). */
export function withoutModules(config: string): string {
  return config.replace(/^(CONFIG_\w+)=m$/gm, '# $1 is not set');
}

/** `scripts/config` arguments for the edits. */
export function scriptsConfigArgs(edits: Readonly<Record<string, ConfigValue>>): string[] {
  return Object.entries(edits).flatMap(([opt, v]) =>
    v === 'y' ? ['--enable', opt] : v === 'n' ? ['--disable', opt] : ['--set-str', opt, v.str],
  );
}

/** The edits the resolved .config does not honour (a dependency unmet), as lines. */
export function unmetEdits(config: string, edits: Readonly<Record<string, ConfigValue>>): string[] {
  const out: string[] = [];
  for (const [opt, want] of Object.entries(edits)) {
    const expected = typeof want === 'string' ? want : want.str;
    const got = configValue(config, opt);
    // An empty string and an option that is not there at all (its menu off) mean the same.
    if (got !== expected && !(expected === '' && got === 'n'))
      out.push(`CONFIG_${opt}: asked ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
  return out;
}

/** The folder of all built kernels. */
export function builtKernelsDir(): string {
  return path.join(cacheDir(), 'built-kernels');
}

const BuiltManifestSchema = v.object({
  name: v.string(),
  release: v.string(),
  series: v.string(),
  profile: v.string(),
  sourceVersion: v.string(),
  key: v.string(),
  /** Seconds the build took, from untar to a sealed image. */
  seconds: v.number(),
  builtAt: v.string(),
});
export type BuiltManifest = v.InferOutput<typeof BuiltManifestSchema>;

const MANIFEST = 'manifest.json';
const BZIMAGE = path.join('arch', 'x86', 'boot', 'bzImage');

function entryDir(r: Recipe): string {
  return path.join(builtKernelsDir(), `${r.series}-${r.profile.name}-${r.key}`);
}

/** A built kernel's manifest; null when it is missing or malformed (the entry is not a built kernel). */
function readManifest(dir: string): BuiltManifest | null {
  try {
    const read = jsonOf(BuiltManifestSchema, fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));
    return 'value' in read ? read.value : null;
  } catch {
    return null;
  }
}

/**
 * Whether a built kernel comes from today's recipe for its name: 'current',
 * 'older' (the source, Debian's configuration or mmaplab's edits changed
 * since; the entry is still used, being what was built, until `mmaplab
 * kernel build NAME` builds today's), or 'unknown' when the source is not
 * installed to tell.
 */
export function recipeStatus(m: BuiltManifest, roots: SourceRoots = DEFAULT_SOURCE_ROOTS): 'current' | 'older' | 'unknown' {
  let key: string;
  try {
    key = recipeFor(m.series, m.profile, roots).key;
  } catch {
    return 'unknown';
  }
  return key === m.key ? 'current' : 'older';
}

export function kernelOfEntry(dir: string, m: BuiltManifest): Kernel {
  const tree = path.join(dir, 'tree');
  return {
    release: m.release,
    image: path.join(tree, BZIMAGE),
    buildDir: tree,
    modulesDir: null,
    series: m.series,
    origin: 'built',
    cmdline: buildProfile(m.profile)?.cmdline ?? [],
  };
}

/**
 * The built kernels in the cache whose image still matches its seal. An
 * entry whose image does not is removed (one line says so) and must be built
 * again; a folder without a manifest is a build that did not finish.
 */
export function discoverBuiltKernels(root: string = builtKernelsDir()): Array<{ kernel: Kernel; manifest: BuiltManifest }> {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const out: Array<{ kernel: Kernel; manifest: BuiltManifest }> = [];
  for (const name of names.sort()) {
    const dir = path.join(root, name);
    const m = readManifest(dir);
    if (m === null) continue;
    const kernel = kernelOfEntry(dir, m);
    if (!useCached(kernel.image, `${m.name} kernel image (mmaplab kernel build ${m.name} builds it again)`, BZIMAGE_MAGIC)) {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    out.push({ kernel, manifest: m });
  }
  // Oldest first: where two entries share a release, the newer build is picked (it comes last).
  return out.sort((a, b) => a.manifest.builtAt.localeCompare(b.manifest.builtAt));
}

export interface BuildOptions {
  /** make -j (default: the CPUs). */
  jobs?: number;
  /** Rebuild even if the cache has it. */
  force?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface BuildResult {
  kernel: Kernel;
  manifest: BuiltManifest;
  cached: boolean;
}

function run(cmd: string, args: string[], cwd: string, logFd: number, what: string, logFile: string): void {
  fs.writeSync(logFd, `\n$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', logFd, logFd] });
  if (r.error) {
    throw new MmaplabError(
      'ENOTOOL',
      `${what}: cannot run ${cmd} (${r.error.message}): apt-get install build-essential bc bison flex libelf-dev libssl-dev`,
    );
  }
  if (r.status !== 0) {
    throw new MmaplabError('EKBUILD', `${what} failed (exit ${r.status ?? r.signal}); see ${logFile}`);
  }
}

/** Object files and other build products an external module build does not need. */
function pruneTree(tree: string): void {
  const walk = (dir: string): void => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/\.(o|a)$/.test(ent.name)) fs.rmSync(p, { force: true });
    }
  };
  walk(tree);
}

/**
 * What an interrupted build left: a partial folder whose builder is gone
 * (never a finished entry: those have no suffix; never a build still running).
 */
function removeAbandonedBuilds(): void {
  fs.mkdirSync(builtKernelsDir(), { recursive: true });
  for (const old of fs.readdirSync(builtKernelsDir())) {
    const m = /\.partial-(\d+)$/.exec(old);
    if (m && !isAlive(Number(m[1]))) fs.rmSync(path.join(builtKernelsDir(), old), { recursive: true, force: true });
  }
}

/** Older builds of the same name as the entry just made in `dir` (another source version or recipe): stale now. */
function removeOlderBuilds(name: string, dir: string): void {
  for (const old of discoverBuiltKernels()) {
    const oldDir = path.dirname(old.kernel.buildDir);
    if (old.manifest.name === name && oldDir !== dir) fs.rmSync(oldDir, { recursive: true, force: true });
  }
}

/**
 * Build SERIES-PROFILE from Debian's source, or take it from the cache.
 * The build happens in a folder of its own that becomes the entry only when
 * the image is sealed and the manifest written.
 */
export function buildKernel(series: string, profileName: string, opts: BuildOptions = {}): BuildResult {
  const say = opts.log ?? ((): void => undefined);
  const r = recipeFor(series, profileName);
  const name = `${series}-${r.profile.name}`;
  const dir = entryDir(r);
  if (!opts.force) {
    const have = discoverBuiltKernels().find((b) => b.manifest.key === r.key);
    if (have) return { ...have, cached: true };
  }
  removeAbandonedBuilds();
  const work = `${dir}.partial-${process.pid}`;
  const tree = path.join(work, 'tree');
  fs.mkdirSync(tree, { recursive: true });
  const logFile = path.join(work, 'build.log');
  const logFd = fs.openSync(logFile, 'w');
  const started = Date.now();
  const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)} s`;
  try {
    say(`${name}: unpacking ${r.tarball} (source ${r.sourceVersion})`);
    run('tar', ['-xf', r.tarball, '-C', tree, '--strip-components=1'], tree, logFd, 'unpacking the source', logFile);
    const base = spawnSync('xz', ['-dc', r.baseConfig], { maxBuffer: 64 << 20 });
    if (base.status !== 0) throw new MmaplabError('EKBUILD', `cannot read ${r.baseConfig}`);
    fs.writeFileSync(path.join(tree, '.config'), withoutModules(base.stdout.toString('utf8')));
    run(path.join(tree, 'scripts', 'config'), scriptsConfigArgs(r.edits), tree, logFd, 'editing the configuration', logFile);
    run('make', ['olddefconfig'], tree, logFd, 'make olddefconfig', logFile);
    const unmet = unmetEdits(fs.readFileSync(path.join(tree, '.config'), 'utf8'), r.edits);
    if (unmet.length > 0) {
      throw new MmaplabError(
        'EKBUILD',
        `the ${name} configuration does not take:\n  ${unmet.join('\n  ')}\n(a dependency is unmet; see ${logFile})`,
      );
    }
    const jobs = opts.jobs ?? os.cpus().length;
    say(`${name}: configured (${elapsed()}); make -j${jobs} (log: ${logFile})`);
    run('make', [`-j${jobs}`, 'all'], tree, logFd, `building ${name}`, logFile);
    const rel = spawnSync('make', ['-s', 'kernelrelease'], { cwd: tree, encoding: 'utf8' });
    const release = rel.status === 0 ? rel.stdout.trim() : '';
    if (!release.endsWith(`${BUILT_RELEASE_MARK}${r.profile.name}`)) {
      throw new MmaplabError(
        'EKBUILD',
        `${name}: make kernelrelease said "${release}", not a release ending in ${BUILT_RELEASE_MARK}${r.profile.name}`,
      );
    }
    pruneTree(tree);
    sealFile(path.join(tree, BZIMAGE));
    const manifest: BuiltManifest = {
      name,
      release,
      series,
      profile: r.profile.name,
      sourceVersion: r.sourceVersion,
      key: r.key,
      seconds: Math.round((Date.now() - started) / 1000),
      builtAt: new Date().toISOString(),
    };
    fs.closeSync(logFd);
    // The manifest goes in before the one rename that makes the entry: a
    // folder with no manifest is always a build that did not finish.
    fs.writeFileSync(path.join(work, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(work, dir);
    removeOlderBuilds(name, dir);
    say(`${name}: built ${release} in ${elapsed()}`);
    return { kernel: kernelOfEntry(dir, manifest), manifest, cached: false };
  } catch (err) {
    try {
      fs.closeSync(logFd);
    } catch {
      // already closed
    }
    throw err;
  }
}
