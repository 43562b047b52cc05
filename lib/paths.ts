/** Where things live, computed from this file's place in dist/lib/. */
import * as fs from 'node:fs';
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

/** The version in package.json (the one npm and `mmaplab --version` show). */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
