/**
 * What the device saw: the pci_bar allocator's memory is BAR 2 of the VM's
 * ivshmem-plain device, whose backing is a file in the VM's run directory
 * on the host (lib/vm/device-bar). Inside the guest that file is read
 * through the run directory's 9p mount (cache=none): QEMU reads the host
 * file and sends its bytes, so what comes back is what reached the
 * device's memory, not what the guest's own mapping of the BAR shows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPattern } from '../device/pattern';
import type { DeviceSide } from '../experiments/types';
import { DEVICE_BAR_FILE } from '../vm/device-bar';
import { GUEST_RUN_DIR } from '../vm/guest-init';

/** Where the BAR's backing file appears inside a VM. */
export const GUEST_DEVICE_FILE = path.join(GUEST_RUN_DIR, DEVICE_BAR_FILE);

/** How a check through the BAR's backing file names itself in a DeviceSide. */
export function hostFile(file: string): string {
  return `host side: ${file}`;
}

/** How a check by the DMA device names itself. */
export const BY_DEVICE_DMA = 'the device read it by DMA';

/**
 * Read the first `length` bytes of the backing file and check them against
 * the pattern of `seed`. No file (a lab machine, whose device has no host
 * side to read) is recorded as not checked, with why; a short file too.
 */
export function readDeviceSide(length: number, seed: number, file: string = GUEST_DEVICE_FILE): DeviceSide {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    return { via: hostFile(file), checked: false, why: `no backing file to read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got < length) return { via: hostFile(file), checked: false, why: `the backing file holds ${got} of ${length} bytes` };
    const words = new Uint32Array(buf.buffer, buf.byteOffset, length / 4);
    const m = checkPattern(words, seed);
    return { via: hostFile(file), checked: true, mismatch: m === null ? null : { offset: m.offset, expected: m.expected, found: m.found } };
  } finally {
    fs.closeSync(fd);
  }
}
