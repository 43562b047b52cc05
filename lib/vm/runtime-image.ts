/**
 * The guest's runtime as a read-only ext4 image, built on the host without
 * root (`mke2fs -d`) and cached by its inputs. It is meant to be the guest
 * root's lower layer instead of the 9p host-root share, which blocks QEMU
 * migration while mounted (see the boot-once-restore-many design notes):
 *
 * - node (process.execPath), every library ldd names and the dynamic loader;
 * - the package root's package.json, dist/, node_modules/ (without the trees
 *   only build tools use: lib/vm/runtime-packages), build/{Release,Debug}/*.node
 *   and prebuilds/, all at their host paths: the guest chroots into an
 *   overlay over this image, where REPO_ROOT and process.execPath must mean
 *   what they mean on the host;
 * - busybox with the applets the guest runs (sh, insmod, taskset, ...) and the
 *   host tools the guest suites run by absolute path (setpriv);
 * - empty mount points (/proc, /sys, /dev, /run, /tmp).
 *
 * Symlinks on the way to a host path (merged /usr: /bin -> usr/bin, /lib64 ->
 * usr/lib64) go in as symlinks, so every path resolves in the guest as on the
 * host. The module .ko is not in the image: it comes with each job. Owners
 * and modes are the host's too (over 9p, security_model=none, the guest saw
 * them so), whoever builds: see restoreOwners.
 *
 * The cache key hashes every entry's path, kind, mode, size and mtime, and
 * RUNTIME_IMAGE_VERSION, not file contents: hashing ~130 MB (node alone is
 * ~100 MB) on every run costs seconds of CPU on a busy 2-core host, where
 * stat costs milliseconds. Anything that rewrites a file (tsc, npm ci, a
 * package upgrade) changes its mtime; an edit that keeps both the size and
 * the nanosecond mtime is not noticed, so bump the version after such tricks.
 * The cached image is checked by its size against the metadata written after
 * it (rt-KEY.json), not hashed, for the same reason.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { cacheDir, REPO_ROOT } from '../paths';
import { MmaplabError } from '../util/errors';
import { jsonOf } from '../util/schema';
import { BUSYBOX } from './initramfs';
import { readPackageJson } from '../util/package-json';
import { devOnlyPackages, readPackageTree, requiredPackages } from './runtime-packages';

/** Bump when what goes into the image, or how it is made, changes: every cached image becomes stale. */
export const RUNTIME_IMAGE_VERSION = 1;
export const RUNTIME_IMAGE_LABEL = 'mmaplab-rt';
/**
 * No journal (the image is read-only) and no metadata_csum: the 6.1 guest
 * would need crc32c, which ext4 only softdeps and modules.dep does not list.
 * No orphan_file: e2fsprogs 1.47 adds it by default and older kernels refuse it.
 */
export const MKE2FS_FEATURES = '^has_journal,^metadata_csum,^orphan_file';
/** Images kept in the cache, newest (last used) first; older keys are removed. */
export const KEEP_IMAGES = 3;

const BLOCK = 4096;
const MIB = 1 << 20;
/** Longest target an ext4 inode holds inline ("fast symlink"); longer ones take a block. */
const FAST_SYMLINK_MAX = 59;
/** As Linux's MAXSYMLINKS: more symlinks on one path is a loop. */
const MAX_SYMLINKS = 40;

/** Busybox applets linked beside busybox, and who runs each in the guest. */
export const BUSYBOX_APPLETS: Readonly<Record<string, string>> = {
  sh: 'guest.sh (init runs `chroot /newroot /bin/sh guest.sh`)',
  insmod: 'lib/runner/module.ts loadModule',
  rmmod: 'lib/runner/module.ts unloadModule, test/guest/75-stress',
  mknod: 'lib/check/guest.ts (a node made from /proc/devices)',
  taskset: 'mmaplab shell (pinning a process to a CPU by hand)',
  sync: 'lib/experiments/file-triggers.ts, test/guest/40-files',
  mount: 'lib/experiments/file-triggers.ts (cgroup2)',
  umount: 'a restored guest unmounting its run directory',
  date: 'a restored guest setting its wall clock (`date -s @N`)',
  cat: 'shell scripts and debugging',
  ls: 'shell scripts and debugging',
  mkdir: 'shell scripts and debugging',
  sleep: 'shell scripts and debugging',
};

/** Host programs the guest runs by absolute path: in the image with their libraries when the host has them. */
export const HOST_TOOLS: Readonly<Record<string, string>> = {
  '/usr/bin/setpriv': 'test/guest/60-permissions (util-linux; its options differ from busybox setpriv)',
};

/** Directories init mounts over (proc, sys, dev) or the guest writes in; each with its mode. */
export const MOUNT_POINTS: Readonly<Record<string, number>> = {
  '/dev': 0o755,
  '/proc': 0o555,
  '/run': 0o755,
  '/sys': 0o555,
  '/tmp': 0o1777,
};

/** Where node-gyp-build looks for the addon in a checkout (Release first). */
const ADDON_DIRS = ['build/Release', 'build/Debug'];

/** Who owns an entry: the host's owner, as the guest sees it over 9p today (security_model=none). */
export interface Owner {
  uid: number;
  gid: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

export type DirEntry = { kind: 'dir'; path: string; mode: number } & Owner;
export type FileEntry = { kind: 'file'; path: string; mode: number; size: number; mtimeMs: number } & Owner;
export type SymlinkEntry = { kind: 'symlink'; path: string; target: string } & Owner;
/** One thing in the image, at the path it has on the host (no symlink among its parents). */
export type RuntimeEntry = DirEntry | FileEntry | SymlinkEntry;

export interface RuntimeImageOptions {
  /** The package root whose package.json, dist/, node_modules/ ... go in (default: this checkout). */
  root?: string;
  /** The node binary (default: process.execPath, which guest.sh runs). */
  node?: string;
  /** A busybox binary (default: /bin/busybox, as in the initramfs). */
  busybox?: string;
  /** Where images are cached (default: cacheDir()/runtime, so MMAPLAB_CACHE moves it). */
  cacheDir?: string;
  /** How many images to keep in the cache (default KEEP_IMAGES). */
  keep?: number;
}

export interface RuntimeImage {
  /** The ext4 image, to attach read-only (virtio-blk). */
  path: string;
  /** Hash of the inputs (paths, sizes, mtimes, RUNTIME_IMAGE_VERSION). */
  key: string;
  /** False when the cached image was used. */
  built: boolean;
  /** The image's size (sparse: fewer bytes are allocated). */
  bytes: number;
  /** Regular files in it. */
  files: number;
  /** Time this call took, planning included. */
  ms: number;
}

function runtimeError(message: string, details: Record<string, unknown> = {}): MmaplabError {
  return new MmaplabError('ERUNTIMEIMAGE', message, details);
}

/** Where tools are looked for: PATH, then the sbin directories (not on an ordinary user's PATH on Debian). */
export function toolDirs(searchPath = process.env['PATH'] ?? ''): string[] {
  return [...searchPath.split(':').filter((d) => d !== ''), '/usr/sbin', '/sbin'];
}

/** The first executable `name` in `dirs`, or null. */
export function findTool(name: string, dirs: readonly string[] = toolDirs()): string | null {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** mke2fs, which builds the image without root (-d); ENOTOOL naming the package when it is missing. */
export function mke2fsPath(dirs: readonly string[] = toolDirs()): string {
  const tool = findTool('mke2fs', dirs);
  if (tool === null) {
    throw new MmaplabError('ENOTOOL', 'mke2fs is missing (the guest runtime image is ext4): apt-get install e2fsprogs');
  }
  return tool;
}

type Entries = Map<string, RuntimeEntry>;

function fileEntry(p: string, st: fs.Stats): FileEntry {
  const { size, mtimeMs, uid, gid } = st;
  return { kind: 'file', path: p, mode: st.mode & 0o7777, size, mtimeMs, uid, gid };
}

function dirEntry(p: string, st: fs.Stats): DirEntry {
  return { kind: 'dir', path: p, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function symlinkEntry(p: string, st: fs.Stats): SymlinkEntry {
  return { kind: 'symlink', path: p, target: fs.readlinkSync(p), uid: st.uid, gid: st.gid };
}

/**
 * The real path of host path `p`, adding every symlink met on the way to
 * `out` (as the kernel follows them), so that `p` resolves in the image too.
 */
export function followHostPath(out: Entries, p: string): string {
  const rest = path.resolve(p).split('/').filter(Boolean);
  let real = '/';
  for (let links = 0; rest.length > 0;) {
    const next = path.join(real, rest.shift() as string);
    const st = fs.lstatSync(next);
    if (!st.isSymbolicLink()) {
      real = next;
      continue;
    }
    if (++links > MAX_SYMLINKS) throw runtimeError(`too many symlinks resolving ${p}`, { path: p });
    const link = symlinkEntry(next, st);
    out.set(next, link);
    // `real` has no symlinks left, so a '..' in the target means what it says.
    rest.unshift(...path.resolve(real, link.target).split('/').filter(Boolean));
    real = '/';
  }
  return real;
}

/** Adds host file `p` (and the symlinks on its way); returns its real path. */
function addHostFile(out: Entries, p: string, why: string): string {
  let real: string;
  let st: fs.Stats;
  try {
    real = followHostPath(out, p);
    st = fs.statSync(real);
  } catch (err) {
    throw runtimeError(`${p} (${why}) cannot be read: ${(err as Error).message}`, { path: p });
  }
  if (!st.isFile()) throw runtimeError(`${p} (${why}) is not a regular file`, { path: p });
  out.set(real, fileEntry(real, st));
  return real;
}

/** Shared libraries and loader in `ldd` output; `missing` lists the names ldd could not find. */
export function parseLdd(text: string): { libraries: string[]; missing: string[] } {
  const libraries: string[] = [];
  const missing: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    const [, notFound] = /^(\S+) => not found$/.exec(line) ?? [];
    const [, found] = /^(?:\S+ => )?(\/\S+)(?: \(0x[0-9a-f]+\))?$/.exec(line) ?? [];
    if (notFound !== undefined) missing.push(notFound);
    else if (found !== undefined) libraries.push(found);
    // linux-vdso.so.1 (no file), "statically linked": nothing to copy
  }
  return { libraries, missing };
}

/** The libraries (loader included) the dynamic binary `file` needs; none for a static one. */
export function sharedLibraries(file: string): string[] {
  const ldd = findTool('ldd');
  if (ldd === null) throw new MmaplabError('ENOTOOL', 'ldd is missing: apt-get install libc-bin');
  const r = spawnSync(ldd, [file], { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    if (/not a dynamic executable/.test(text)) return [];
    throw runtimeError(`ldd ${file} failed: ${text.trim() || r.error?.message}`, { path: file });
  }
  const { libraries, missing } = parseLdd(text);
  if (missing.length > 0) throw runtimeError(`${file} needs ${missing.join(', ')}, which ldd cannot find`);
  return libraries;
}

/** A program and everything it loads. */
function addExecutable(out: Entries, file: string, why: string): void {
  addHostFile(out, file, why);
  for (const lib of sharedLibraries(file)) addHostFile(out, lib, `a library of ${file}`);
}

/**
 * Everything under `dir` (real, no symlinks above it), symlinks as symlinks;
 * `skip` leaves out an entry (and all below it). Returns the files added.
 */
function addTree(out: Entries, dir: string, skip: (p: string, e: fs.Dirent) => boolean = () => false): string[] {
  const added: string[] = [];
  out.set(dir, dirEntry(dir, fs.statSync(dir)));
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (skip(p, e)) continue;
    const st = fs.lstatSync(p);
    if (st.isDirectory()) added.push(...addTree(out, p, skip));
    else if (st.isSymbolicLink()) out.set(p, symlinkEntry(p, st));
    else if (st.isFile()) {
      out.set(p, fileEntry(p, st));
      added.push(p);
    }
    // sockets, fifos, devices: not part of a package
  }
  return added;
}

/** Is `p` inside (or one of) `dirs`? */
function isUnder(p: string, dirs: ReadonlySet<string>): boolean {
  for (let d = p; d !== path.dirname(d); d = path.dirname(d)) if (dirs.has(d)) return true;
  return false;
}

/**
 * Compiled tests the guest never loads: the unit tests and the VM tests run
 * on the host, so the packages only they require (a parser, a linter) stay
 * out of the image.
 */
const HOST_ONLY_DIST = ['dist/test/unit', 'dist/test/vm'];

/** node_modules without the dev-only packages, and without symlinks (.bin) into them. */
function addNodeModules(out: Entries, root: string, distFiles: readonly string[]): void {
  const dir = path.join(root, 'node_modules');
  if (!fs.existsSync(dir)) throw runtimeError(`${dir} is missing: run npm ci`);
  const manifest = readPackageJson(path.join(root, 'package.json'), 'ERUNTIMEIMAGE');
  const hostOnly = HOST_ONLY_DIST.map((d) => path.join(root, d) + path.sep);
  const sources = distFiles
    .filter((f) => f.endsWith('.js') && !hostOnly.some((d) => f.startsWith(d)))
    .map((f) => fs.readFileSync(f, 'utf8'));
  const left = devOnlyPackages(readPackageTree(root), manifest, requiredPackages(sources));
  const excluded = new Set([...left].map((d) => path.join(root, d)));
  addTree(out, dir, (p, e) => {
    if (excluded.has(p)) return true;
    return e.isSymbolicLink() && isUnder(path.resolve(path.dirname(p), fs.readlinkSync(p)), excluded);
  });
}

/** The built addon, with the libraries it loads. */
function addAddon(out: Entries, root: string): void {
  for (const dir of ADDON_DIRS.map((d) => path.join(root, d))) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
      addExecutable(out, path.join(dir, f), 'the addon');
    }
  }
  const prebuilds = path.join(root, 'prebuilds');
  if (fs.existsSync(prebuilds)) addTree(out, prebuilds);
}

/** package.json, dist/, node_modules/ and the addon of the package at `root`. */
function addPackage(out: Entries, root: string): void {
  const real = followHostPath(out, root);
  const agent = path.join(real, 'dist', 'lib', 'runner', 'agent.js');
  if (!fs.existsSync(agent)) throw runtimeError(`${agent} is missing: run npm run build:ts`);
  addHostFile(out, path.join(real, 'package.json'), 'the package manifest');
  const distFiles = addTree(out, path.join(real, 'dist'));
  addNodeModules(out, real, distFiles);
  addAddon(out, real);
}

/** Busybox and its applets, linked in the directory /bin resolves to. */
function addBusybox(out: Entries, busybox: string): void {
  if (!fs.existsSync(busybox)) {
    throw new MmaplabError('ENOTOOL', `${busybox} is missing: apt-get install busybox-static`);
  }
  addExecutable(out, busybox, 'busybox');
  const real = followHostPath(out, busybox);
  const bin = followHostPath(out, '/bin');
  for (const applet of Object.keys(BUSYBOX_APPLETS)) {
    const p = path.join(bin, applet);
    // A host program at that path (put in for its own sake) wins over the applet.
    if (!out.has(p)) out.set(p, { kind: 'symlink', path: p, target: path.relative(bin, real), ...ROOT });
  }
}

/** Every directory above an entry, with the host's mode and owner (they are real: no symlinks above entries). */
function addParents(out: Entries): void {
  for (const p of [...out.keys()]) {
    for (let d = path.dirname(p); d !== '/' && !out.has(d); d = path.dirname(d)) {
      out.set(d, dirEntry(d, fs.statSync(d)));
    }
  }
}

/** What goes into the runtime image, sorted by path. Reads the host; writes nothing. */
export function planRuntimeFiles(opts: RuntimeImageOptions = {}): RuntimeEntry[] {
  const out: Entries = new Map();
  addExecutable(out, opts.node ?? process.execPath, 'node');
  addPackage(out, opts.root ?? REPO_ROOT);
  for (const [tool, why] of Object.entries(HOST_TOOLS)) if (fs.existsSync(tool)) addExecutable(out, tool, why);
  addBusybox(out, opts.busybox ?? BUSYBOX);
  for (const [dir, mode] of Object.entries(MOUNT_POINTS)) {
    if (!out.has(dir)) out.set(dir, { kind: 'dir', path: dir, mode, ...ROOT });
  }
  addParents(out);
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The cache key: every entry as planned (no contents: see the file comment) and the builder's version. */
export function runtimeKey(entries: readonly RuntimeEntry[]): string {
  const h = crypto.createHash('sha256').update(`mmaplab-rt v${RUNTIME_IMAGE_VERSION} ${MKE2FS_FEATURES}\n`);
  for (const e of entries) h.update(JSON.stringify(e)).update('\n');
  return h.digest('hex').slice(0, 16);
}

/**
 * The image size and inode count for `entries`: their data blocks, a block
 * per directory and long symlink, 256-byte inodes and directory records,
 * then 10 % and 16 MiB for ext4's own metadata. Sparse, so slack is cheap.
 */
export function imageGeometry(entries: readonly RuntimeEntry[]): { bytes: number; inodes: number } {
  let blocks = 0;
  let records = 0;
  for (const e of entries) {
    if (e.kind === 'file') blocks += Math.ceil(e.size / BLOCK);
    else if (e.kind === 'dir' || e.target.length > FAST_SYMLINK_MAX) blocks += 1;
    records += path.basename(e.path).length + 16;
  }
  const inodes = entries.length + 1024;
  const needed = blocks * BLOCK + records + inodes * 256;
  return { bytes: Math.ceil((needed * 1.1 + 16 * MIB) / MIB) * MIB, inodes };
}

/**
 * Refuses a plan with an entry below a symlink or a file: staging it would
 * write through that symlink, possibly onto the host.
 */
export function checkPlan(entries: readonly RuntimeEntry[]): void {
  const kinds = new Map(entries.map((e) => [e.path, e.kind]));
  for (const e of entries) {
    if (!path.isAbsolute(e.path)) throw runtimeError(`runtime image entry ${e.path} is not absolute`);
    for (let d = path.dirname(e.path); d !== '/'; d = path.dirname(d)) {
      const kind = kinds.get(d);
      if (kind !== undefined && kind !== 'dir') {
        throw runtimeError(`runtime image entry ${e.path} is below the ${kind} ${d}`);
      }
    }
  }
}

/**
 * A hard link where the filesystem and permissions allow it
 * (fs.protected_hardlinks stops a user linking root's files), else a copy
 * with the host's mtime, as the link would have had.
 */
function linkOrCopy(e: FileEntry, to: string): void {
  try {
    fs.linkSync(e.path, to);
  } catch {
    fs.copyFileSync(e.path, to, fs.constants.COPYFILE_FICLONE);
    fs.utimesSync(to, new Date(e.mtimeMs), new Date(e.mtimeMs));
  }
}

function stageEntry(e: RuntimeEntry, to: string): void {
  if (e.kind === 'dir') {
    fs.mkdirSync(to, { recursive: true });
    return;
  }
  fs.mkdirSync(path.dirname(to), { recursive: true });
  if (e.kind === 'file') linkOrCopy(e, to);
  else fs.symlinkSync(e.target, to);
}

/** Lays `entries` out under `dir`. Directory modes come last, so a read-only one is still filled. */
function stage(entries: readonly RuntimeEntry[], dir: string): void {
  checkPlan(entries);
  fs.mkdirSync(dir, { recursive: true });
  for (const e of entries) stageEntry(e, path.join(dir, e.path));
  // Never chmod a file here: it may be a hard link to the host's own.
  for (const e of [...entries].reverse()) if (e.kind === 'dir') fs.chmodSync(path.join(dir, e.path), e.mode);
}

/** Removes a staging tree, first giving its read-only directories back their owner's write bit. */
function unstage(entries: readonly RuntimeEntry[], dir: string): void {
  for (const e of entries) {
    if (e.kind !== 'dir' || (e.mode & 0o700) === 0o700) continue;
    try {
      fs.chmodSync(path.join(dir, e.path), e.mode | 0o700);
    } catch {
      // not staged (yet)
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

function mke2fs(tool: string, staging: string, image: string, geometry: { bytes: number; inodes: number }): void {
  // -m 0: no blocks reserved for root in a read-only image; -N: inodes for every entry.
  const args = ['-q', '-t', 'ext4', '-b', String(BLOCK), '-O', MKE2FS_FEATURES, '-L', RUNTIME_IMAGE_LABEL];
  // -E root_owner: / is root's, whoever builds.
  args.push('-m', '0', '-N', String(geometry.inodes), '-E', 'root_owner=0:0');
  args.push('-d', staging, image, `${geometry.bytes / 1024}k`);
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || r.error?.message || `signal ${r.signal}`).trim();
    throw runtimeError(`mke2fs could not build the runtime image ${image}: ${why}`, { image });
  }
}

/**
 * debugfs commands giving every entry whose staged owner (`staged`) is not
 * its host owner the host's. Paths debugfs cannot quote are refused.
 */
export function ownerCommands(entries: readonly RuntimeEntry[], staged: (p: string) => Owner): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const st = staged(e.path);
    if (st.uid === e.uid && st.gid === e.gid) continue;
    if (/["\\\n]/.test(e.path)) throw runtimeError(`debugfs cannot name ${JSON.stringify(e.path)} to set its owner`);
    out.push(`sif "${e.path}" uid ${e.uid}`, `sif "${e.path}" gid ${e.gid}`);
  }
  return out;
}

/**
 * mke2fs -d copies the staging tree's owners, and a builder that is not root
 * owns every copy and directory it made there. debugfs gives those entries
 * their host owners back, so the guest sees the owners it saw over 9p. A
 * root build with hard links has nothing to fix and never runs debugfs.
 */
export function restoreOwners(image: string, staging: string, entries: readonly RuntimeEntry[]): number {
  const commands = ownerCommands(entries, (p) => fs.lstatSync(path.join(staging, p)));
  if (commands.length === 0) return 0;
  const tool = findTool('debugfs');
  if (tool === null) throw new MmaplabError('ENOTOOL', 'debugfs is missing: apt-get install e2fsprogs');
  const input = `${commands.join('\n')}\n`;
  const r = spawnSync(tool, ['-w', '-f', '-', image], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  // debugfs exits 0 whatever its commands did: a failed one says so on stderr.
  const errors = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l));
  if (r.status !== 0 || errors.length > 0) {
    const why = errors.slice(0, 5).join('; ') || r.error?.message || `status ${r.status}`;
    throw runtimeError(`debugfs could not set owners in ${image}: ${why}`);
  }
  return commands.length / 2;
}

/** Stages `entries` next to `image`, runs mke2fs into a temporary file, renames it to `image`. */
function buildImage(entries: readonly RuntimeEntry[], image: string): void {
  const tool = mke2fsPath(); // before staging: a missing tool costs no copying
  const staging = `${image}.${process.pid}.staging`;
  const tmp = `${image}.${process.pid}.tmp`;
  try {
    stage(entries, staging);
    fs.rmSync(tmp, { force: true });
    mke2fs(tool, staging, tmp, imageGeometry(entries));
    restoreOwners(tmp, staging, entries);
    fs.renameSync(tmp, image);
  } finally {
    unstage(entries, staging);
    fs.rmSync(tmp, { force: true });
  }
}

/** Written after the image: an image without it, or of another size, is not used. */
const ImageMetaSchema = v.object({ key: v.string(), version: v.number(), bytes: v.number(), files: v.number() });
type ImageMeta = v.InferOutput<typeof ImageMetaSchema>;

function metaPath(image: string): string {
  return image.replace(/\.img$/, '.json');
}

/** The image's metadata when it is for `key` and the image has its size; null otherwise (missing, malformed, stale). */
function readMeta(image: string, key: string): ImageMeta | null {
  try {
    const read = jsonOf(ImageMetaSchema, fs.readFileSync(metaPath(image), 'utf8'));
    if ('problem' in read) return null;
    const meta = read.value;
    if (meta.key !== key || meta.version !== RUNTIME_IMAGE_VERSION) return null;
    return fs.statSync(image).size === meta.bytes ? meta : null;
  } catch {
    return null;
  }
}

function writeMeta(image: string, meta: ImageMeta): void {
  const tmp = `${metaPath(image)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(meta)}\n`);
  fs.renameSync(tmp, metaPath(image));
}

/** Is process `pid` still there (EPERM: there, but another user's)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Keeps the `keep` most recently used images (by their metadata's mtime,
 * touched on every hit) and removes the rest, and what a dead builder left.
 */
function pruneImages(dir: string, keep: number): void {
  const names = fs.readdirSync(dir);
  for (const n of names) {
    const m = /^rt-[0-9a-f]+\.(?:img|json)\.(\d+)\.(?:staging|tmp)$/.exec(n);
    if (m && !isAlive(Number(m[1]))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
  // An image without metadata (its build died) counts by its own mtime.
  const used = (n: string): number =>
    (fs.statSync(path.join(dir, metaPath(n)), { throwIfNoEntry: false }) ?? fs.statSync(path.join(dir, n), { throwIfNoEntry: false }))
      ?.mtimeMs ?? 0;
  const images = names.filter((n) => /^rt-[0-9a-f]+\.img$/.test(n));
  for (const n of images.sort((a, b) => used(b) - used(a)).slice(keep)) {
    fs.rmSync(path.join(dir, n), { force: true });
    fs.rmSync(path.join(dir, metaPath(n)), { force: true });
  }
}

/** The runtime image for the current inputs: the cached one, or a new one built now. */
export function runtimeImage(opts: RuntimeImageOptions = {}): RuntimeImage {
  const t0 = process.hrtime.bigint();
  const ms = (): number => Number((process.hrtime.bigint() - t0) / 1_000_000n);
  const entries = planRuntimeFiles(opts);
  const key = runtimeKey(entries);
  const files = entries.filter((e) => e.kind === 'file').length;
  const dir = opts.cacheDir ?? path.join(cacheDir(), 'runtime');
  const image = path.join(dir, `rt-${key}.img`);
  const cached = readMeta(image, key);
  if (cached !== null) {
    const now = new Date();
    fs.utimesSync(metaPath(image), now, now); // most recently used: pruned last
    return { path: image, key, built: false, bytes: cached.bytes, files, ms: ms() };
  }
  fs.mkdirSync(dir, { recursive: true });
  buildImage(entries, image);
  const bytes = fs.statSync(image).size;
  writeMeta(image, { key, version: RUNTIME_IMAGE_VERSION, bytes, files });
  pruneImages(dir, opts.keep ?? KEEP_IMAGES);
  return { path: image, key, built: true, bytes, files, ms: ms() };
}
