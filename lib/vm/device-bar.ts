/**
 * Every VM's PCI device with memory the host can see: QEMU's ivshmem-plain,
 * whose BAR 2 is a memory backend file in the VM's run directory, shared
 * with QEMU (share=on). The module drives it (kmod/mmaplab_pci.c) and maps
 * that BAR for the pci_bar allocator; what the guest writes through the BAR
 * is in the file. The guest reads the file back through its run directory
 * (9p, served by QEMU from the host file, never through the BAR), which is
 * how a cell checks what "the device" saw. Its own module, so the guest
 * side loads nothing of lib/vm/qemu.
 */
export const DEVICE_BAR_FILE = 'device-bar.mem';
/** The BAR's size: a power of two (ivshmem's rule), as large as the largest cell (2 MiB placement). */
export const DEVICE_BAR_BYTES = 2 << 20;
/** The memory backend's QEMU object id. */
export const DEVICE_BAR_ID = 'devbar';

/** The QEMU arguments that give a VM whose run directory is `runDir` the device. */
export function deviceBarArgs(runDir: string): string[] {
  return [
    '-object',
    `memory-backend-file,id=${DEVICE_BAR_ID},size=${DEVICE_BAR_BYTES},mem-path=${runDir}/${DEVICE_BAR_FILE},share=on`,
    '-device',
    `ivshmem-plain,memdev=${DEVICE_BAR_ID}`,
  ];
}
