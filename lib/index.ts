/**
 * mmaplab's package entry: the device API (the userspace half of every
 * experiment), the kernel-log reader and classifier, and the experiment
 * catalogue with its expectations. The CLI (`mmaplab`) is dist/lib/cli.js.
 *
 *   import { Device } from 'mmaplab';
 *   using dev = Device.open();
 *   dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 1 << 20 });
 *   using map = dev.map();
 */
export * from './device';
export * as kmsg from './kmsg';
export * as experiments from './experiments';
