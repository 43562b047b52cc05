/**
 * Where things live, computed from this file's place in dist/lib/. A source
 * tree (a git clone, or a checkout without .git as CI makes) keeps its cache
 * and run directories inside it (.cache/, runs/); mmaplab installed as a
 * package (its folder inside a node_modules folder) uses the XDG locations: $XDG_CACHE_HOME/mmaplab (~/.cache/mmaplab) for the cache and
 * $XDG_STATE_HOME/mmaplab/runs (~/.local/state/mmaplab/runs) for runs.
 * MMAPLAB_CACHE and MMAPLAB_RUNS override either.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** The checkout root (dist/lib/paths.js -> ../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface Places {
  cache: string;
  runs: string;
}

/** The cache and runs folders for a package at `root`, given the environment and home; pure. */
export function placesFor(root: string, isCheckout: boolean, env: NodeJS.ProcessEnv, home: string): Places {
  const xdg = (name: string, fallback: string): string => {
    const v = env[name];
    // The XDG spec: an unset, empty or relative value means the default.
    return v !== undefined && path.isAbsolute(v) ? v : path.join(home, fallback);
  };
  return {
    cache: env['MMAPLAB_CACHE'] ?? (isCheckout ? path.join(root, '.cache') : path.join(xdg('XDG_CACHE_HOME', '.cache'), 'mmaplab')),
    runs:
      env['MMAPLAB_RUNS'] ??
      (isCheckout ? path.join(root, 'runs') : path.join(xdg('XDG_STATE_HOME', path.join('.local', 'state')), 'mmaplab', 'runs')),
  };
}

/** Is `root` an installed package: node_modules/mmaplab, or node_modules/@scope/mmaplab? */
export function isInstalledPackage(root: string): boolean {
  const parent = path.basename(path.dirname(root));
  return parent === 'node_modules' || (parent.startsWith('@') && path.basename(path.dirname(path.dirname(root))) === 'node_modules');
}

function places(): Places {
  return placesFor(REPO_ROOT, !isInstalledPackage(REPO_ROOT), process.env, os.homedir());
}

/** Per-kernel derived artefacts (vmlinux, initramfs, built modules, built kernels, templates). */
export function cacheDir(): string {
  return places().cache;
}

/** Where each VM run keeps its console log and result channel. */
export function runsDir(): string {
  return places().runs;
}
