/**
 * Which kernels mmaplab can run: a kernel is usable when we have its image
 * (to boot), its kbuild directory (to build mmaplab.ko against) and, unless
 * 9p and overlayfs are built in, its modules directory (for the initramfs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { BUILT_RELEASE_MARK, builtKernelsDir, discoverBuiltKernels, parseBuildName } from './kernel-build';

export interface Kernel {
  /** `uname -r` of the kernel, e.g. "6.1.0-N-amd64" (Debian moves N). */
  release: string;
  /** bzImage to boot. */
  image: string;
  /** kbuild tree (`make -C <buildDir> M=...`). */
  buildDir: string;
  /** /lib/modules/<release> or the self-built equivalent; null if none. */
  modulesDir: string | null;
  /** "6.1", "6.12": used to pick expectations that differ per series. */
  series: string;
  /** Installed from the distribution, built by `mmaplab kernel build`, or given by path. */
  origin: 'installed' | 'path' | 'built';
  /** Words its command line needs besides mmaplab's own (a built kernel's profile). */
  cmdline?: readonly string[];
}

export interface KernelRoots {
  boot: string;
  modules: string;
  /** Where `mmaplab kernel build` keeps its kernels; absent: none are looked for. */
  built?: string;
}

export const DEFAULT_ROOTS: KernelRoots = {
  boot: '/boot',
  modules: '/lib/modules',
  get built() {
    return builtKernelsDir();
  },
};

export function seriesOf(release: string): string {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? `${m[1]}.${m[2]}` : release;
}

function compareReleases(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export interface Discovery {
  usable: Kernel[];
  /** Kernels with an image but no kbuild tree: say which package is missing. */
  withoutHeaders: string[];
}

export function discoverKernels(roots: KernelRoots = DEFAULT_ROOTS): Discovery {
  const usable: Kernel[] = roots.built === undefined ? [] : discoverBuiltKernels(roots.built).map((b) => b.kernel);
  const withoutHeaders: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(roots.boot);
  } catch {
    return { usable, withoutHeaders };
  }
  for (const name of names) {
    if (!name.startsWith('vmlinuz-')) continue;
    const release = name.slice('vmlinuz-'.length);
    const modulesDir = path.join(roots.modules, release);
    const buildDir = path.join(modulesDir, 'build');
    if (!fs.existsSync(path.join(buildDir, 'Makefile'))) {
      withoutHeaders.push(release);
      continue;
    }
    usable.push({
      release,
      image: path.join(roots.boot, name),
      buildDir,
      modulesDir,
      series: seriesOf(release),
      origin: 'installed',
    });
  }
  usable.sort((a, b) => compareReleases(a.release, b.release));
  withoutHeaders.sort(compareReleases);
  return { usable, withoutHeaders };
}

/** The apt packages that bring a release's image and headers. */
export function packagesFor(release: string): { image: string; headers: string } {
  return { image: `linux-image-${release}`, headers: `linux-headers-${release}` };
}

/** A self-built kernel: image + build dir (+ optional modules dir). */
export function kernelFromPaths(image: string, buildDir: string, modulesDir?: string): Kernel {
  if (!fs.existsSync(image)) {
    throw new MmaplabError('ENOKERNEL', `kernel image not found: ${image}`);
  }
  const releaseFile = path.join(buildDir, 'include', 'config', 'kernel.release');
  if (!fs.existsSync(releaseFile)) {
    throw new MmaplabError('ENOHEADERS', `${buildDir} is not a configured kernel build tree (no include/config/kernel.release)`);
  }
  const release = fs.readFileSync(releaseFile, 'utf8').trim();
  const mods = modulesDir ?? null;
  if (mods !== null && !fs.existsSync(path.join(mods, 'modules.dep'))) {
    throw new MmaplabError('ENOMODULES', `${mods} has no modules.dep (run depmod for it)`);
  }
  return { release, image, buildDir, modulesDir: mods, series: seriesOf(release), origin: 'path' };
}

export interface KernelSelection {
  /**
   * `--kernel` values, in order: a release ("6.1.0-N-amd64") or a series
   * ("6.1": its default kernel, see defaultKernels). Empty means "the defaults".
   */
  releases: string[];
  /** `--kernel-image P --kernel-build D [--kernel-modules M]` triples. */
  paths: Array<{ image: string; buildDir: string; modulesDir?: string }>;
}

/**
 * The series every full run covers (`npm test` fails if one is missing), and
 * the Debian 12 packages that bring each.
 */
export const REQUIRED_SERIES: ReadonlyArray<{ series: string; packages: string }> = [
  { series: '6.1', packages: 'linux-image-amd64 linux-headers-amd64' },
  { series: '6.12', packages: 'linux-image-6.12-amd64 linux-headers-6.12-amd64' },
];

/** "6.1", "6.12": a --kernel value that names a series rather than a release. */
export function isSeries(value: string): boolean {
  return /^\d+\.\d+$/.test(value);
}

/** Debian's flavours besides the generic one, with the packages that bring each per series. */
export const DEBIAN_FLAVOURS = ['rt', 'cloud'] as const;

/**
 * A kernel's flavour: Debian's `rt` or `cloud`, a built kernel's profile
 * (`slab`, `debug`), or `generic`.
 */
export function flavourOf(release: string): string {
  const built = release.indexOf(BUILT_RELEASE_MARK);
  if (built >= 0) return release.slice(built + BUILT_RELEASE_MARK.length);
  return /-(cloud|rt)-[a-z0-9]+$/.exec(release)?.[1] ?? 'generic';
}

/** Debian's special flavours and built kernels: "6.1.0-N-cloud-amd64", "6.12.N+deb12-rt-amd64", "6.1.N-mmaplab-slab". */
export function isFlavour(release: string): boolean {
  return flavourOf(release) !== 'generic';
}

/** How --kernel names a kernel's series and flavour: "6.1", "6.12-rt", "6.1-slab". */
export function kernelName(k: Pick<Kernel, 'release' | 'series'>): string {
  const f = flavourOf(k.release);
  return f === 'generic' ? k.series : `${k.series}-${f}`;
}

/** "6.12-rt" -> series and flavour; null when the value is a release. */
export function parseKernelName(value: string): { series: string; flavour: string } | null {
  const [, series, flavour] = /^(\d+\.\d+)(?:-([a-z0-9]+))?$/.exec(value) ?? [];
  return series !== undefined ? { series, flavour: flavour ?? 'generic' } : null;
}

/** The Debian packages that bring a series' newest kernel of a flavour, with its headers. */
export function flavourPackages(series: string, flavour: string): string {
  const known = REQUIRED_SERIES.find((r) => r.series === series);
  if (flavour === 'generic' && known) return known.packages;
  // 6.1 is bookworm's own series (linux-image-rt-amd64); newer ones carry theirs in the name.
  const meta =
    series === '6.1'
      ? flavour === 'generic'
        ? 'amd64'
        : `${flavour}-amd64`
      : flavour === 'generic'
        ? `${series}-amd64`
        : `${series}-${flavour}-amd64`;
  return `linux-image-${meta} linux-headers-${meta}`;
}

/** What to install for a series' default kernel with its headers. */
function seriesAdvice(series: string, flavour = 'generic'): string {
  return `Install it with: apt-get install ${flavourPackages(series, flavour)}`;
}

/**
 * The newest usable kernel of a series and flavour, or an error saying what
 * to install (or build). A machine's older kernels are never chosen, so what
 * an earlier run left installed changes nothing.
 */
export function kernelOfName(series: string, flavour: string, d: Discovery): Kernel {
  const name = flavour === 'generic' ? series : `${series}-${flavour}`;
  const k = d.usable.filter((x) => x.series === series && flavourOf(x.release) === flavour).pop();
  if (k) return k;
  if (parseBuildName(name) !== null) {
    throw new MmaplabError(
      'ENOKERNEL',
      `no ${name} kernel is built: run mmaplab kernel build ${name} (it builds from Debian's source, once)`,
      { series, flavour },
    );
  }
  if (flavour !== 'generic' && !(DEBIAN_FLAVOURS as readonly string[]).includes(flavour)) {
    throw new MmaplabError(
      'EUSAGE',
      `unknown kernel flavour "${flavour}" in ${name}: Debian's are ${DEBIAN_FLAVOURS.join(', ')}; built profiles are slab (6.1), debug`,
    );
  }
  const partial = d.withoutHeaders.filter((r) => seriesOf(r) === series && flavourOf(r) === flavour).pop();
  if (partial) {
    throw new MmaplabError('ENOHEADERS', `no ${name} kernel with headers is installed: apt-get install ${packagesFor(partial).headers}`, {
      series,
    });
  }
  const list = d.usable.map((u) => `  ${u.release}`).join('\n') || '  (none)';
  throw new MmaplabError(
    'ENOKERNEL',
    `no ${name} kernel with headers is installed. Installed kernels with headers:\n${list}\n${seriesAdvice(series, flavour)}`,
    { series },
  );
}

/** The default kernel of a series (newest generic kernel with headers), or an error saying what to install. */
export function kernelOfSeries(series: string, d: Discovery): Kernel {
  return kernelOfName(series, 'generic', d);
}

/** The installed default kernel of a required series, or an error saying what to install. */
export function requiredKernel(series: string, roots: KernelRoots = DEFAULT_ROOTS): Kernel {
  return kernelOfSeries(series, discoverKernels(roots));
}

/**
 * The default kernels: the newest generic kernel of each series. On a
 * Debian 12 machine set up by scripts/setup-host.sh that is one 6.1 and one
 * 6.12 kernel; flavours and built kernels run only when named.
 */
export function defaultKernels(d: Discovery): Kernel[] {
  const bySeries = new Map<string, Kernel>();
  // Sorted ascending, so a later kernel is newer.
  for (const k of d.usable) if (!isFlavour(k.release)) bySeries.set(k.series, k);
  return [...bySeries.values()];
}

export function selectKernels(sel: KernelSelection, roots: KernelRoots = DEFAULT_ROOTS): Kernel[] {
  const d = discoverKernels(roots);
  const out: Kernel[] = [];
  for (const release of sel.releases) {
    const named = parseKernelName(release);
    if (named !== null) {
      out.push(kernelOfName(named.series, named.flavour, d));
      continue;
    }
    const k = d.usable.find((u) => u.release === release);
    if (k) {
      out.push(k);
      continue;
    }
    const { image, headers } = packagesFor(release);
    if (d.withoutHeaders.includes(release)) {
      throw new MmaplabError('ENOHEADERS', `kernel ${release} is installed but has no headers: apt-get install ${headers}`, { release });
    }
    const list = d.usable.map((u) => `  ${u.release}`).join('\n') || '  (none)';
    throw new MmaplabError(
      'ENOKERNEL',
      `kernel ${release} is not installed. Installed kernels with headers:\n${list}\n` +
        `Install it with: apt-get install ${image} ${headers}`,
      { release },
    );
  }
  for (const p of sel.paths) out.push(kernelFromPaths(p.image, p.buildDir, p.modulesDir));
  if (sel.releases.length === 0 && sel.paths.length === 0) {
    const defaults = defaultKernels(d);
    if (defaults.length === 0) {
      throw new MmaplabError(
        'ENOKERNEL',
        'no kernel with headers is installed: run scripts/setup-host.sh (as root), or ' +
          'apt-get install linux-image-amd64 linux-headers-amd64',
      );
    }
    return defaults;
  }
  return out;
}
