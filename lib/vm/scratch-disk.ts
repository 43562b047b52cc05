/**
 * Every VM's scratch disk: an empty sparse file in its run directory,
 * attached as a virtio disk, for the experiments that need a real block
 * device (O_DIRECT through a driver's mapping). The guest finds it by its
 * serial. Its own module, so the guest side loads nothing of lib/vm/qemu.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SCRATCH_DISK_FILE = 'scratch.img';
export const SCRATCH_DISK_SERIAL = 'mmaplab-scratch';
/** Its size: sparse on the host, written only by the experiments that need it. */
export const SCRATCH_DISK_BYTES = 8 << 20;

/** Make a VM's empty scratch disk in its run directory (host side, before QEMU starts). */
export function makeScratchDisk(runDir: string): void {
  const fd = fs.openSync(path.join(runDir, SCRATCH_DISK_FILE), 'w');
  try {
    fs.ftruncateSync(fd, SCRATCH_DISK_BYTES);
  } finally {
    fs.closeSync(fd);
  }
}
