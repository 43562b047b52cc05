/**
 * A memory-limited cgroup v2 for experiments under memory pressure (the
 * files section's pressure trigger, the pressure use): made fresh, the
 * memory controller enabled, cgroup2 mounted if nothing is mounted yet.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** A fresh cgroup named `name-PID` with the memory controller; remove it with fs.rmdirSync once empty. */
export function memoryCgroup(name: string): string {
  if (!fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) {
    const r = spawnSync('mount', ['-t', 'cgroup2', 'none', CGROUP_ROOT], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot mount cgroup2 on ${CGROUP_ROOT}: ${r.stderr.trim()}`);
  }
  const control = fs.readFileSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), 'utf8');
  if (!control.split(/\s+/).includes('memory')) fs.writeFileSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), '+memory');
  const dir = path.join(CGROUP_ROOT, `${name}-${process.pid}`);
  fs.mkdirSync(dir);
  return dir;
}

/** A cgroup's memory.events as numbers ("max 12" -> { max: 12 }). */
export function memoryEvents(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(path.join(dir, 'memory.events'), 'utf8').trim().split('\n')) {
    const [key, value] = line.split(/\s+/);
    if (key !== undefined && value !== undefined) out[key] = Number(value);
  }
  return out;
}

/** Runs `fn` with this process in cgroup `dir`, so that what it allocates is charged there; back to the root after. */
export function chargedTo<T>(dir: string, fn: () => T): T {
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid));
  try {
    return fn();
  } finally {
    fs.writeFileSync(path.join(CGROUP_ROOT, 'cgroup.procs'), String(process.pid));
  }
}

/** Has the cgroup reclaim `bytes` (memory.reclaim); EAGAIN only says it found less to reclaim. */
export function reclaim(dir: string, bytes: number): void {
  try {
    fs.writeFileSync(path.join(dir, 'memory.reclaim'), String(bytes));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
  }
}
