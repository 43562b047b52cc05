/**
 * Which installed packages the guest never loads. The runtime image leaves
 * out node_modules trees reachable only from devDependencies that dist/ does
 * not require (typescript, node-gyp, @types/*): they are build tools. Every
 * other package stays, including one reachable from nowhere (an extraneous
 * install): when in doubt, a package goes into the image.
 *
 * An optional peer (peerDependenciesMeta: optional) is not a need: the
 * package works without it, and typescript, which valibot names so for its
 * types, would otherwise take the build tools' place in the image.
 *
 * The tree is read from the installed package.json files, not from
 * package-lock.json, so it is what node would actually resolve.
 */
import * as fs from 'node:fs';
import { isBuiltin } from 'node:module';
import * as path from 'node:path';
import { isErrnoError } from '../util/errors';
import { type PackageManifest, readPackageJson } from '../util/package-json';

/** Installed packages: directory relative to the root ('node_modules/a/node_modules/b') -> names it depends on. */
export type PackageTree = ReadonlyMap<string, readonly string[]>;

/** The dependency fields of a package.json (lib/util/package-json reads and checks them). */
export type Manifest = Pick<
  PackageManifest,
  'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies' | 'peerDependenciesMeta'
>;

function names(field: Record<string, string> | undefined): string[] {
  return Object.keys(field ?? {});
}

/** The peers a package cannot work without (an optional one it can). */
function requiredPeers(m: Manifest): string[] {
  return names(m.peerDependencies).filter((n) => m.peerDependenciesMeta?.[n]?.optional !== true);
}

/** Every name a package needs at run time (devDependencies are for building it). */
export function runtimeDependencies(m: Manifest): string[] {
  return [...names(m.dependencies), ...names(m.optionalDependencies), ...requiredPeers(m)];
}

/** An installed package's manifest; null when it has none. ERUNTIMEIMAGE naming the place when it is malformed. */
function readManifest(file: string): Manifest | null {
  try {
    return readPackageJson(file, 'ERUNTIMEIMAGE');
  } catch (err) {
    if (isErrnoError(err)) return null; // no package.json: not a package (a leftover directory)
    throw err;
  }
}

/** Names of the subdirectories of `dir` (none if it is missing); dot entries are npm's own. */
function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** Package directories directly in `rel`/node_modules, scoped ones included, relative to `root`. */
function packageDirs(root: string, rel: string): string[] {
  const nm = rel === '' ? 'node_modules' : `${rel}/node_modules`;
  return subdirs(path.join(root, nm)).flatMap((name) =>
    name.startsWith('@') ? subdirs(path.join(root, nm, name)).map((s) => `${nm}/${name}/${s}`) : [`${nm}/${name}`],
  );
}

/** The installed tree under `root`/node_modules, nested installs included. */
export function readPackageTree(root: string): PackageTree {
  const tree = new Map<string, readonly string[]>();
  const visit = (rel: string): void => {
    for (const dir of packageDirs(root, rel)) {
      const m = readManifest(path.join(root, dir, 'package.json'));
      if (m === null) continue;
      tree.set(dir, runtimeDependencies(m));
      visit(dir);
    }
  };
  visit('');
  return tree;
}

/** The directory of the package that holds `dir` ('' for the root package). */
function enclosingPackage(dir: string): string {
  const i = dir.lastIndexOf('/node_modules/');
  return i < 0 ? '' : dir.slice(0, i);
}

/** Where node finds package `name` required from package `from`: its own node_modules, then each ancestor's. */
export function resolvePackage(tree: PackageTree, from: string, name: string): string | null {
  for (let dir = from; ; dir = enclosingPackage(dir)) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (tree.has(candidate)) return candidate;
    if (dir === '') return null;
  }
}

/** The packages `roots` (names required by the root package) load, transitively. */
export function packageClosure(tree: PackageTree, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const queue: Array<[string, string]> = [...roots].map((name) => ['', name]);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const dir = resolvePackage(tree, item[0], item[1]);
    if (dir === null || seen.has(dir)) continue; // not installed (optional, peer), or done
    seen.add(dir);
    for (const dep of tree.get(dir) ?? []) queue.push([dir, dep]);
  }
  return seen;
}

/** The package a bare specifier names: 'a/b' -> 'a', '@s/a/b' -> '@s/a'; null for builtins and paths. */
export function packageOfSpecifier(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || isBuiltin(spec)) return null;
  const parts = spec.split('/');
  return parts.slice(0, spec.startsWith('@') ? 2 : 1).join('/');
}

const REQUIRE = /\brequire\(\s*(["'])([^"'\n]+)\1\s*\)/g;

/** The packages these CommonJS sources require (tsc's output: dynamic imports become require too). */
export function requiredPackages(sources: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const text of sources) {
    for (const [, , spec] of text.matchAll(REQUIRE)) {
      const pkg = spec === undefined ? null : packageOfSpecifier(spec);
      if (pkg !== null) out.add(pkg);
    }
  }
  return out;
}

/**
 * The package directories to leave out: reachable from a devDependency
 * nothing in dist/ requires, and from nothing the runtime loads.
 */
export function devOnlyPackages(tree: PackageTree, manifest: Manifest, required: ReadonlySet<string>): Set<string> {
  const keepRoots = new Set([...runtimeDependencies(manifest), ...required]);
  const keep = packageClosure(tree, keepRoots);
  const devRoots = names(manifest.devDependencies).filter((n) => !keepRoots.has(n));
  return new Set([...packageClosure(tree, devRoots)].filter((dir) => !keep.has(dir)));
}
