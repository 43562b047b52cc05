/**
 * lib/device: the typed API over /dev/mmaplab and the Node-API addon.
 *
 *   using dev = Device.open();
 *   dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 1 << 20 });
 *   dev.fill(7);
 *   using map = dev.map();          // the whole buffer, MAP_SHARED
 *   map.checkPattern(7);            // null: userspace sees what the kernel wrote
 *   map.writePattern(8);
 *   dev.verify(8).ok;               // true: the kernel sees what userspace wrote
 *
 * (or call map.unmap() and dev.close() explicitly). A refused CONFIGURE or
 * mmap throws the syscall error with the module's reason attached:
 *
 *   try { dev.configure({ alloc: 'kmalloc', method: 'remap_vmalloc_range', size: 4096 }); }
 *   catch (err) { failureReason(err); // { reason: 'combination', text: '...' } }
 *
 * What would kill the process (SIGBUS, SIGSEGV) runs in a child process
 * through runIsolated() (./isolated), which reports the signal and the page.
 */
import { ALLOCS, type AllocName, CACHES, type CacheName, MAX_SIZE, METHODS, type MethodName, type ReasonName, REASONS } from './layout';
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
  Device,
  type MapOptions,
  type MmaplabSyscallError,
  type ModuleCounters,
  type OpenOptions,
  type PageInfo,
  type PinResult,
  type UnpinOptions,
  type VerifyResult,
} from './device';
export {
  type Advice,
  type ForkResult,
  freeAddress,
  Mapping,
  mapAnonymous,
  mapFd,
  type MmapOptions,
  type MsyncOptions,
  type Placement,
  PLACEMENT_MODES,
  type Protection,
  type RangeOptions,
  type RemapOptions,
} from './mapping';
export { type CpuAccess, DmaBuf, type DmaBufState, SYSTEM_HEAP_PATH, systemHeapBuffer, UDMABUF_PATH, udmabufOf } from './dmabuf';
export { type Support, support } from './support';
export {
  clearSoftDirty,
  decodePagemap,
  type PagemapEntry,
  pagemapOf,
  selectedChoice,
  setThpMode,
  type SmapsEntry,
  smapsAt,
  type ThpMode,
  thpMode,
} from './proc-self';
export {
  FdPair,
  type FutexHandoff,
  futexHandoff,
  futexWaitPrivate,
  forkHold,
  type HeldChild,
  ioUring,
  openPipe,
  openSocketPair,
  remoteRead,
  type RemoteHow,
  type RemoteRead,
  releaseHeld,
  remoteWrite,
  spliceAll,
  smapsAfterLockAll,
  transferAll,
  type UffdMode,
  uffdRegister,
  vmspliceAll,
} from './kernel-io';
export { type CoreSegment, coreSegments, dumpCore } from './core-file';
export { type IsolatedOptions, type IsolatedPlan, type IsolatedResult, type IsolatedStep, runIsolated } from './isolated';
export { checkPattern, type PatternMismatch, patternWord, writePattern } from './pattern';
export {
  type ArgumentError,
  type ArgumentErrorCode,
  type DeviceErrorCode,
  errnoName,
  isArgumentError,
  isSyscallError,
  MmaplabError,
  type SyscallError,
} from './errors';
export type { AllocName, CacheName, MethodName, ReasonName };
export { MAX_SIZE };

/** Every allocator the module knows, in enum order. */
export const ALLOC_NAMES: readonly AllocName[] = Object.keys(ALLOCS) as AllocName[];
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
