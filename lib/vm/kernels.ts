/**
 * Which kernels mmaplab can run: a kernel is usable when we have its image
 * (to boot), its kbuild directory (to build mmaplab.ko against) and, unless
 * 9p and overlayfs are built in, its modules directory (for the initramfs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';

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
  /** Installed from the distribution, or given by path. */
  origin: 'installed' | 'path';
}

export interface KernelRoots {
  boot: string;
  modules: string;
}

export const DEFAULT_ROOTS: KernelRoots = { boot: '/boot', modules: '/lib/modules' };

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
  const usable: Kernel[] = [];
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
    throw new MmaplabError(
      'ENOHEADERS',
      `${buildDir} is not a configured kernel build tree (no include/config/kernel.release)`,
    );
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

/** What to install for a series' default kernel with its headers. */
function seriesAdvice(series: string): string {
  const known = REQUIRED_SERIES.find((r) => r.series === series);
  return known
    ? `Install it with: apt-get install ${known.packages}`
    : `Install a ${series} kernel's linux-image-RELEASE and linux-headers-RELEASE packages`;
}

/**
 * The default kernel of a series (newest generic kernel with headers), or an
 * error saying what to install. A machine's older kernels of the series are
 * never chosen, so what an earlier run left installed changes nothing.
 */
export function kernelOfSeries(series: string, d: Discovery): Kernel {
  const k = defaultKernels(d).find((x) => x.series === series);
  if (k) return k;
  const partial = d.withoutHeaders.filter((r) => seriesOf(r) === series).pop();
  if (partial) {
    throw new MmaplabError(
      'ENOHEADERS',
      `no ${series} kernel with headers is installed: apt-get install ${packagesFor(partial).headers}`,
      { series },
    );
  }
  const list = d.usable.map((u) => `  ${u.release}`).join('\n') || '  (none)';
  throw new MmaplabError(
    'ENOKERNEL',
    `no ${series} kernel with headers is installed. Installed kernels with headers:\n${list}\n${seriesAdvice(series)}`,
    { series },
  );
}

/** The installed default kernel of a required series, or an error saying what to install. */
export function requiredKernel(series: string, roots: KernelRoots = DEFAULT_ROOTS): Kernel {
  return kernelOfSeries(series, discoverKernels(roots));
}

/**
 * The default kernels: every usable installed kernel, newest of each series.
 * On a Debian 12 machine set up by scripts/setup-host.sh that is one 6.1 and
 * one 6.12 kernel.
 */
export function defaultKernels(d: Discovery): Kernel[] {
  const bySeries = new Map<string, Kernel>();
  for (const k of d.usable) {
    const prev = bySeries.get(k.series);
    // Sorted ascending, so a later kernel is newer; but a flavour (cloud, rt)
    // never displaces the generic kernel of its series.
    if (!prev || isFlavour(prev.release) || !isFlavour(k.release)) bySeries.set(k.series, k);
  }
  return [...bySeries.values()];
}

/** Debian's special flavours: "6.1.0-N-cloud-amd64", "6.12.N+deb12-rt-amd64". */
export function isFlavour(release: string): boolean {
  return /-(cloud|rt)-[a-z0-9]+$/.test(release);
}

export function selectKernels(sel: KernelSelection, roots: KernelRoots = DEFAULT_ROOTS): Kernel[] {
  const d = discoverKernels(roots);
  const out: Kernel[] = [];
  for (const release of sel.releases) {
    if (isSeries(release)) {
      out.push(kernelOfSeries(release, d));
      continue;
    }
    const k = d.usable.find((u) => u.release === release);
    if (k) {
      out.push(k);
      continue;
    }
    const { image, headers } = packagesFor(release);
    if (d.withoutHeaders.includes(release)) {
      throw new MmaplabError(
        'ENOHEADERS',
        `kernel ${release} is installed but has no headers: apt-get install ${headers}`,
        { release },
      );
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
