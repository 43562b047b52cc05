/**
 * lib/device: the typed API over /dev/mmaplab and the Node-API addon.
 *
 *   const dev = MmaplabDevice.open();
 *   dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 1 << 20 });
 *   dev.fill(7);
 *   const m = dev.mmap(1 << 20);
 *   checkPattern(m.buffer, 7);   // null: userspace sees what the kernel wrote
 *   m.unmap();
 *   dev.close();
 */
import { ALLOCATORS, type AllocName, MAX_SIZE, METHODS, type MethodName } from './layout';
import { nativeConstants } from './native';

export {
  type ConfigureOptions,
  DEFAULT_DEVICE_PATH,
  MmaplabDevice,
  type OpenOptions,
  type VerifyResult,
} from './device';
export { Mapping, type MmapOptions, type MsyncOptions, type Protection } from './mapping';
export { checkPattern, type PatternMismatch, patternWord, writePattern } from './pattern';
export { type DeviceErrorCode, isSyscallError, MmaplabError, type SyscallError } from './errors';
export type { AllocName, MethodName };
export { MAX_SIZE };

/** Every allocator the module knows, in enum order. */
export const ALLOCATOR_NAMES: readonly AllocName[] = Object.keys(ALLOCATORS) as AllocName[];
/** Every mapping method the module knows, in enum order. */
export const METHOD_NAMES: readonly MethodName[] = Object.keys(METHODS) as MethodName[];

/** The running kernel's page size (needs the addon). */
export function pageSize(): number {
  return nativeConstants().PAGE_SIZE;
}
