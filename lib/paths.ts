/** Where things live, computed from this file's place in dist/lib/. */
import * as path from 'node:path';

/** The checkout root (dist/lib/paths.js -> ../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Per-kernel derived artefacts (vmlinux, initramfs, built modules). */
export function cacheDir(): string {
  return process.env['MMAPLAB_CACHE'] ?? path.join(REPO_ROOT, '.cache');
}

/** Where each VM run keeps its console log and result channel. */
export function runsDir(): string {
  return process.env['MMAPLAB_RUNS'] ?? path.join(REPO_ROOT, 'runs');
}
