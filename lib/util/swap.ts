/**
 * A swap area in the guest for experiments that need reclaim to swap (a
 * shmem object whose driver gave its pages back): the first SWAP_BYTES of
 * the VM's scratch disk, made with busybox's mkswap, switched on for the
 * experiment and off again, so the disk's other users (the O_DIRECT uses)
 * find it as they left it apart from its first bytes, which they rewrite.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { scratchDisk } from '../runner/uses';

/** The swap area's size: room for the experiments' objects, within the 8 MiB scratch disk. */
export const SWAP_BYTES = 4 << 20;

function run(command: string, args: readonly string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
}

/** The swap devices /proc/swaps lists (its text, read now by default). */
export function activeSwaps(text: string = fs.readFileSync('/proc/swaps', 'utf8')): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((d) => d !== '');
}

/** Run `fn` with a swap area on the scratch disk switched on, and switch it off after. */
export function withScratchSwap<T>(fn: (device: string) => T): T {
  const disk = scratchDisk();
  run('mkswap', [disk, String(SWAP_BYTES / 1024)]);
  run('swapon', [disk]);
  try {
    return fn(disk);
  } finally {
    run('swapoff', [disk]);
  }
}
