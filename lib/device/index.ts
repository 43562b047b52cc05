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
 *
 * A refused CONFIGURE or mmap throws the syscall error with the module's
 * reason attached:
 *
 *   try { dev.configure({ alloc: 'kmalloc', method: 'remap_vmalloc_range', size: 4096 }); }
 *   catch (err) { failureReason(err); // { reason: 'combination', text: '...' } }
 */
import {
  ALLOCATORS,
  type AllocName,
  CACHES,
  type CacheName,
  MAX_SIZE,
  METHODS,
  type MethodName,
  type ReasonName,
  REASONS,
} from './layout';
import { nativeConstants } from './native';

export {
  type ConfigureOptions,
  DEFAULT_DEVICE_PATH,
  type DeviceInfo,
  type DeviceStats,
  type FailureReason,
  failureReason,
  type InfoOptions,
  type LastError,
  MAX_PAGE_INFO,
  MmaplabDevice,
  type MmaplabSyscallError,
  type OpenOptions,
  type PageInfo,
  type VerifyResult,
} from './device';
export { Mapping, type MmapOptions, type MsyncOptions, type Protection } from './mapping';
export { checkPattern, type PatternMismatch, patternWord, writePattern } from './pattern';
export { type DeviceErrorCode, errnoName, isSyscallError, MmaplabError, type SyscallError } from './errors';
export type { AllocName, CacheName, MethodName, ReasonName };
export { MAX_SIZE };

/** Every allocator the module knows, in enum order. */
export const ALLOCATOR_NAMES: readonly AllocName[] = Object.keys(ALLOCATORS) as AllocName[];
/** Every mapping method the module knows, in enum order. */
export const METHOD_NAMES: readonly MethodName[] = Object.keys(METHODS) as MethodName[];
/** Every cache attribute, in enum order. */
export const CACHE_NAMES: readonly CacheName[] = Object.keys(CACHES) as CacheName[];
/** Every reason LAST_ERROR can give, in enum order. */
export const REASON_NAMES: readonly ReasonName[] = Object.keys(REASONS) as ReasonName[];

/** The running kernel's page size (needs the addon). */
export function pageSize(): number {
  return nativeConstants().PAGE_SIZE;
}
