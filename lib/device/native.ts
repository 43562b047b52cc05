/**
 * The typed face of the Node-API addon (native/) and its loader.
 *
 * The addon is thin: one system call per function, failures thrown as
 * {@link SyscallError}s, bad argument types as TypeError. Everything else
 * (names, defaults, struct encoding) is TypeScript, in this folder.
 *
 * It is loaded lazily on first use, through node-gyp-build, from the package
 * root: build/Release/mmaplab.node after `node-gyp rebuild`, or a prebuild
 * under prebuilds/ made by prebuildify. Describing the device needs no
 * addon: layout.ts restates the header, and support.ts reads the support
 * table from lib/device/support-table.ts, written from the addon's export.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deviceError } from './errors';
import type { AllocName, CacheName, MethodName, PathName, ReasonConstantSuffix } from './layout';

export type RequestName =
  | 'CONFIGURE'
  | 'FILL'
  | 'VERIFY'
  | 'STATS'
  | 'INFO'
  | 'LAST_ERROR'
  | 'FREE_WHILE_MAPPED'
  | 'STORE'
  | 'FLUSH'
  | 'COUNTERS'
  | 'DEVICE_DMA'
  | 'SHMEM_PIN'
  | 'DMABUF';
export type StructName =
  | 'mmaplab_config'
  | 'mmaplab_fill'
  | 'mmaplab_verify'
  | 'mmaplab_last_error'
  | 'mmaplab_stats'
  | 'mmaplab_page_info'
  | 'mmaplab_info'
  | 'mmaplab_store_page'
  | 'mmaplab_store'
  | 'mmaplab_module_counters'
  | 'mmaplab_device_dma'
  | 'mmaplab_shmem_pin'
  | 'mmaplab_dmabuf';
/** 'mmaplab_config.alloc' and so on: every field of every struct. */
export type FieldKey = `${StructName}.${string}`;
export type IocConstantName =
  'NRBITS' | 'TYPEBITS' | 'SIZEBITS' | 'DIRBITS' | 'NRSHIFT' | 'TYPESHIFT' | 'SIZESHIFT' | 'DIRSHIFT' | 'NONE' | 'WRITE' | 'READ';
/** MMAPLAB_ALLOC_*, MMAPLAB_METHOD_*, MMAPLAB_CACHE_*, MMAPLAB_REASON_* without the prefix. */
export type EnumName =
  | `ALLOC_${Uppercase<AllocName>}`
  | 'ALLOC_COUNT'
  | `METHOD_${Uppercase<MethodName>}`
  | 'METHOD_COUNT'
  | `CACHE_${Uppercase<CacheName>}`
  | 'CACHE_COUNT'
  | `REASON_${Uppercase<ReasonConstantSuffix>}`
  | 'REASON_COUNT'
  | `PATH_${Uppercase<PathName>}`
  | 'PATH_COUNT'
  | 'DMA_TO_DEVICE'
  | 'DMA_FROM_DEVICE'
  | 'DMABUF_QUERY'
  | 'DMABUF_EXPORT'
  | 'SHMEM_UNPIN'
  | 'SHMEM_PIN'
  | 'SHMEM_UNPIN_CLEAN';
/** MMAPLAB_CF_*, MMAPLAB_INFO_*, MMAPLAB_PAGE_* without the prefix. */
export type FlagName =
  | 'CF_FAULT_AROUND'
  | 'CF_RESERVED'
  | 'CF_RESERVED_KEPT'
  | 'CF_SPLITTABLE'
  | 'CF_ALL'
  | 'INFO_CONFIGURED'
  | 'INFO_CONTIGUOUS'
  | 'INFO_FREED'
  | 'INFO_SLAB'
  | 'PAGE_COMPOUND'
  | 'PAGE_HEAD'
  | 'PAGE_TAIL'
  | 'PAGE_SLAB'
  | 'PAGE_TYPED'
  | 'PAGE_RESERVED'
  | 'PAGE_NO_STRUCT_PAGE';
export type SysConstantName =
  | 'PROT_NONE'
  | 'PROT_READ'
  | 'PROT_WRITE'
  | 'PROT_EXEC'
  | 'MAP_SHARED'
  | 'MAP_PRIVATE'
  | 'MAP_FIXED'
  | 'MAP_FIXED_NOREPLACE'
  | 'MAP_ANONYMOUS'
  | 'MAP_POPULATE'
  | 'DMA_BUF_IOCTL_SYNC'
  | 'DMA_BUF_SYNC_READ'
  | 'DMA_BUF_SYNC_WRITE'
  | 'DMA_BUF_SYNC_START'
  | 'DMA_BUF_SYNC_END'
  | 'MFD_CLOEXEC'
  | 'MFD_ALLOW_SEALING'
  | 'F_SEAL_SHRINK'
  | 'F_SEAL_GROW'
  | 'F_SEAL_WRITE'
  | 'UDMABUF_CREATE'
  | 'UDMABUF_FLAGS_CLOEXEC'
  | 'DMA_HEAP_IOCTL_ALLOC'
  | 'O_RDONLY'
  | 'O_WRONLY'
  | 'O_RDWR'
  | 'O_CLOEXEC'
  | 'O_NONBLOCK'
  | 'MS_ASYNC'
  | 'MS_SYNC'
  | 'MS_INVALIDATE'
  | 'MADV_NORMAL'
  | 'MADV_RANDOM'
  | 'MADV_SEQUENTIAL'
  | 'MADV_WILLNEED'
  | 'MADV_DONTNEED'
  | 'MADV_DONTFORK'
  | 'MADV_DOFORK'
  | 'MADV_REMOVE'
  | 'MADV_FREE'
  | 'MADV_COLD'
  | 'MADV_PAGEOUT'
  | 'MADV_POPULATE_READ'
  | 'MADV_POPULATE_WRITE'
  | 'MADV_HUGEPAGE'
  | 'MADV_NOHUGEPAGE'
  | 'MADV_WIPEONFORK'
  | 'MADV_KEEPONFORK'
  | 'MADV_MERGEABLE'
  | 'MADV_UNMERGEABLE'
  | 'MADV_COLLAPSE'
  | 'MREMAP_MAYMOVE'
  | 'MREMAP_FIXED'
  | 'MREMAP_DONTUNMAP'
  | 'MCL_CURRENT'
  | 'MCL_FUTURE'
  | 'MCL_ONFAULT'
  | 'MLOCK_ONFAULT';

/** MMAPLAB_UNSUPPORTED, MMAPLAB_SUPPORTED, MMAPLAB_HAZARD without the prefix. */
export type SupportValueName = 'UNSUPPORTED' | 'SUPPORTED' | 'HAZARD';
/** MMAPLAB_MARK_* without the prefix. */
export type AllocMarkName = 'OWN_PAGES' | 'COMPOUND' | 'HAZARD';

/** kmod/mmaplab_support.h as the addon was compiled with it: what CONFIGURE accepts. */
export interface NativeSupport {
  /** The values in `pairs`, by name. */
  readonly values: Readonly<Record<SupportValueName, number>>;
  /** mmaplab_support[][]: a row per method number, in it a value per allocator number. */
  readonly pairs: readonly (readonly number[])[];
  /** The bits in `allocMarks`, by name. */
  readonly marks: Readonly<Record<AllocMarkName, number>>;
  /** mmaplab_alloc_marks[]: the marks of each allocator number. */
  readonly allocMarks: readonly number[];
}

/** What the addon read from the uapi header and the C library at build time. */
export interface NativeConstants {
  readonly DEVICE_NAME: string;
  readonly IOC_MAGIC: number;
  readonly NO_MISMATCH: bigint;
  readonly MAX_SIZE: bigint;
  /** MMAPLAB_REASON_TEXT_LEN: bytes of mmaplab_last_error.text, NUL included. */
  readonly REASON_TEXT_LEN: number;
  /** MMAPLAB_DELAY_MS_DEFAULT / _MAX, MMAPLAB_PERIOD_MS_MIN / _MAX. */
  readonly DELAY_MS_DEFAULT: number;
  readonly DELAY_MS_MAX: number;
  readonly PERIOD_MS_MIN: number;
  readonly PERIOD_MS_MAX: number;
  /** MMAPLAB_STORES_KEPT. */
  readonly STORES_KEPT: number;
  /** sysconf(_SC_PAGESIZE) of the running kernel. */
  readonly PAGE_SIZE: number;
  /** Request numbers (unsigned, below 2^32). */
  readonly ioctl: Readonly<Record<RequestName, number>>;
  /** The _IOC_* encoding of this architecture. */
  readonly ioc: Readonly<Record<IocConstantName, number>>;
  readonly sizes: Readonly<Record<StructName, number>>;
  /** offsetof() of every field. */
  readonly offsets: Readonly<Record<FieldKey, number>>;
  /** sizeof() of every field. */
  readonly fieldSizes: Readonly<Record<FieldKey, number>>;
  readonly enums: Readonly<Record<EnumName, number>>;
  readonly flags: Readonly<Record<FlagName, number>>;
  readonly sys: Readonly<Record<SysConstantName, number>>;
  /** The module's rules for CONFIGURE, which lib/device/support.ts derives its tables from. */
  readonly support: NativeSupport;
}

export interface NativeAddon {
  /** open(2). `mode` defaults to 0. Throws a SyscallError with `path`. */
  open(path: string, flags: number, mode?: number): number;
  /** close(2); not retried on EINTR. */
  close(fd: number): void;
  /** fcntl(F_DUPFD_CLOEXEC): another descriptor for the same open file. */
  dup(fd: number): number;
  /** memfd_create(2). */
  memfdCreate(name: string, flags: number): number;
  /** fcntl(F_ADD_SEALS). */
  addSeals(fd: number, seals: number): void;
  /**
   * ioctl(2) with a pointer to `arg`, which the kernel reads and/or writes in
   * place. `arg` must hold at least the size encoded in `request`. Returns
   * the ioctl's non-negative result. The kernel follows any pointer inside
   * the struct: never pass INFO with a non-zero pages_ptr through it (use
   * ioctlWithArray(), which owns that field).
   */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /**
   * ioctl(2) of an _IO request (no data direction): the kernel's argument is
   * 0. A request that encodes a direction is a TypeError.
   */
  ioctlNoArg(fd: number, request: number): number;
  /**
   * ioctl(2) of a struct that carries a __u64 user pointer (at `ptrOffset`)
   * to an array of `elementSize`-byte entries, whose __u64 capacity is at
   * `countOffset`. The ioctl runs on a private copy of `struct` holding the
   * address of `array` (0 if it is empty); the result is copied back into
   * `struct` with the pointer field zeroed, so JS never sees an address. The
   * capacity in `struct` must fit in `array` (else TypeError), fields must
   * lie inside the request's size and not overlap, and `array` must not
   * overlap `struct`.
   */
  ioctlWithArray(
    fd: number,
    request: number,
    struct: Uint8Array,
    ptrOffset: number,
    array: Uint8Array,
    countOffset: number,
    elementSize: number,
  ): number;
  /**
   * ioctl(2) on the libuv thread pool, on a copy of `arg` that is copied
   * back when the call ends (so `arg` may not carry pointers). Rejects with
   * the same errors as ioctl().
   */
  ioctlAsync(fd: number, request: number, arg: Uint8Array): Promise<number>;
  /**
   * mmap(2). Returns exactly one ArrayBuffer over the mapping; if it is
   * collected without munmap(), its finalizer unmaps the memory. `address`
   * (default 0: none) is the hint, or the place with MAP_FIXED_NOREPLACE.
   * RangeError for length 0 or an offset that is not a page multiple;
   * TypeError for MAP_FIXED in `flags` (see mmapOver). A runtime that
   * forbids external ArrayBuffers gets an Error with code
   * 'ERR_EXTERNAL_BUFFERS_FORBIDDEN' (never a copy).
   */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number, address?: number): ArrayBuffer;
  /**
   * mmap(2) with MAP_FIXED at `offset` bytes (a page multiple) into a live
   * mapping of this addon, over [offset, offset + length rounded up to a
   * page), which must lie inside the mapping's pages. `buffer` is detached;
   * the new mapping and what is left of the old one on either side come
   * back. On failure the old mapping is whole (nothing changed) or gone
   * (the kernel had unmapped the range: the rest is unmapped too and
   * `buffer` detached).
   */
  mmapOver(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    fd: number,
    prot: number,
    flags: number,
    fileOffset: number,
  ): { before: ArrayBuffer | null; mapped: ArrayBuffer; after: ArrayBuffer | null };
  /** The address a live mapping starts at ('EALREADY' once unmapped). */
  address(buffer: ArrayBuffer): number;
  /**
   * munmap(2) of a buffer returned by mmap(), then detach it: views left
   * behind have length 0. A no-op once unmapped; 'EBUSY' while an
   * asynchronous call (msyncAsync) uses the mapping.
   */
  munmap(buffer: ArrayBuffer): void;
  /**
   * munmap(2) of [offset, offset + length) of a mapping. `buffer` is
   * detached and what remains comes back as new mappings, in address order
   * (none, one or two). RangeError unless offset is a page multiple and
   * length a page multiple (or reaching the end) inside the mapping.
   */
  munmapRange(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer[];
  /**
   * munmap(2) WITHOUT detaching: the buffer keeps pointing at the unmapped
   * range, so the next access faults. Only for the "touch after a raw
   * munmap" experiment, in a child process expected to die.
   */
  unsafeMunmapKeepingBuffer(buffer: ArrayBuffer): void;
  /**
   * mremap(2) to `newLength` bytes (MREMAP_MAYMOVE when `mayMove`; to the
   * address `to`, or over the mapping `to` of newLength bytes, with
   * MREMAP_FIXED; MREMAP_DONTUNMAP with `dontUnmap`). On
   * success `buffer` is detached (unless `dontUnmap`: the old range stays
   * mapped, emptied) and the new buffer is returned; on failure nothing
   * changed.
   */
  mremap(buffer: ArrayBuffer, newLength: number, mayMove: boolean, to?: number | ArrayBuffer, dontUnmap?: boolean): ArrayBuffer;
  /** mprotect(2) of a range (default: the whole mapping). */
  mprotect(buffer: ArrayBuffer, prot: number, offset?: number, length?: number): void;
  /** madvise(2) of a range (default: the whole mapping). */
  madvise(buffer: ArrayBuffer, advice: number, offset?: number, length?: number): void;
  /** msync(2) of a range (default: the whole mapping). 'EALREADY' once unmapped. */
  msync(buffer: ArrayBuffer, flags: number, offset?: number, length?: number): void;
  /** msync(2) on the libuv thread pool; the mapping is busy until it settles. */
  msyncAsync(buffer: ArrayBuffer, flags: number, offset?: number, length?: number): Promise<void>;
  /** mincore(2): one byte per page, bit 0 set when the page is resident. */
  mincore(buffer: ArrayBuffer): Uint8Array;
  /**
   * Touches the first byte of every page of any ArrayBuffer (a write stores
   * the byte back unchanged). progress[0] holds the page being touched,
   * then the page count. Returns the pages touched.
   */
  touch(buffer: ArrayBuffer, write: boolean, progress?: Int32Array): number;
  /**
   * Reads every byte of any ArrayBuffer, front to back, `passes` times (an
   * integer below 2^32; 0 reads nothing). Returns a 32-bit checksum of what
   * was read, there only so that the reads cannot be optimised away.
   */
  readAll(buffer: ArrayBuffer, passes: number): number;
  /** Sets every byte of any ArrayBuffer to `byte` (0..255), front to back, `passes` times. */
  fillAll(buffer: ArrayBuffer, byte: number, passes: number): void;
  /** Writes the uapi pattern (word i = pattern(seed, firstIndex + i)); progress as touch(). */
  patternWrite(buffer: ArrayBuffer, seed: number, firstIndex: number, progress?: Int32Array): void;
  /** The first word that breaks the pattern, or null; progress as touch(). */
  patternCheck(
    buffer: ArrayBuffer,
    seed: number,
    firstIndex: number,
    progress?: Int32Array,
  ): { offset: number; expected: number; found: number } | null;
  /**
   * fork(2): the child writes the pattern over `buffer` through the mapping
   * it inherited, then exits; the parent waits. Returns how the child ended
   * (signal: its number).
   */
  forkWrite(buffer: ArrayBuffer, seed: number, firstIndex: number): { exitCode: number | null; signal: number | null };
  /**
   * fork(2): the child touches [offset, offset + length) of `buffer` through
   * the mapping it inherited (mode 0: reads a byte of each page, 1: writes it
   * back unchanged, 2: writes the pattern, word i = pattern(seed, firstIndex
   * + i)) and exits; the parent waits. Returns how the child ended (signal:
   * its number) and the page of the range it was on last (null: none).
   * Whatever the memory does to the child, the caller survives it.
   */
  forkTouch(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    mode: 0 | 1 | 2,
    seed: number,
    firstIndex: number,
  ): { exitCode: number | null; signal: number | null; page: number | null };
  /** pipe2(2), close-on-exec: [read end, write end]. */
  pipe(): [number, number];
  /** socketpair(2) of AF_UNIX stream sockets, close-on-exec. */
  socketPair(): [number, number];
  /**
   * One read(2) from `fd` into [offset, offset + length) of a mapping, or
   * one write(2) of it to `fd` (pread/pwrite at `position` when given); bytes moved.
   */
  transfer(buffer: ArrayBuffer, offset: number, length: number, fd: number, write: boolean, position?: number): number;
  /** vmsplice(2) of [offset, offset + length) of a mapping into the pipe `fd`; bytes moved. */
  vmsplice(buffer: ArrayBuffer, offset: number, length: number, fd: number): number;
  /** splice(2) of up to `length` bytes from `fdIn` to `fdOut`; bytes moved. */
  splice(fdIn: number, fdOut: number, length: number): number;
  /**
   * A forked child reads [offset, offset + length) of this process's
   * mapping (how 0: process_vm_readv, 1: /proc/PID/mem, 2: ptrace
   * PEEKDATA) and the result is checked against the pattern, or writes the
   * pattern into it. A refusal is thrown with its errno and call.
   */
  remoteAccess(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    how: 0 | 1 | 2,
    write: boolean,
    seed: number,
    firstIndex: number,
  ): {
    bytes: number;
    mismatch: { offset: number; expected: number; found: number } | null;
    exitCode: number | null;
    signal: number | null;
  };
  /**
   * A process-shared futex on the word at `offset`: FUTEX_WAKE from here
   * (its refusal is thrown), then a forked child waits on the word while
   * this process wakes it. `waiter`: 'woken', 'changed', 'timeout' or an errno name.
   */
  futexHandoff(buffer: ArrayBuffer, offset: number): { woken: boolean; waiter: string; exitCode: number | null; signal: number | null };
  /** FUTEX_WAIT_PRIVATE on the word at `offset` with a value it does not hold: returns on EAGAIN, throws otherwise. */
  futexWaitPrivate(buffer: ArrayBuffer, offset: number): void;
  /** mlock2(2) of a range (default: the whole mapping). */
  mlock(buffer: ArrayBuffer, flags: number, offset?: number, length?: number): void;
  /** munlock(2) of a range (default: the whole mapping). */
  munlock(buffer: ArrayBuffer, offset?: number, length?: number): void;
  /**
   * /proc/self/smaps as a forked child sees it after mlockall(flags) (0:
   * without); the mlockall's refusal is thrown.
   */
  childSmaps(mlockallFlags: number): string;
  /**
   * One IORING_OP_READ (from `fd` into the range) or IORING_OP_WRITE (the
   * range to `fd`) through a new ring; `fixed`: the range registered as the
   * ring's buffer first and the _FIXED opcode used. Bytes moved; a refusal
   * (setup, registration, or a negative completion) is thrown.
   */
  ioUring(buffer: ArrayBuffer, offset: number, length: number, fd: number, write: boolean, fixed: boolean): number;
  /** userfaultfd + UFFDIO_API + UFFDIO_REGISTER of the whole mapping (mode 1 missing, 2 wp, 4 minor) + UNREGISTER; a refusal is thrown. */
  uffdRegister(buffer: ArrayBuffer, mode: 1 | 2 | 4): void;
  /**
   * A forked child sets its coredump_filter (negative: leaves it), lifts
   * RLIMIT_CORE and dies of SIGQUIT, dumping core where kernel.core_pattern says.
   */
  coreDumpChild(filter: number): { pid: number; exitCode: number | null; signal: number | null; coreDumped: boolean };
  /** A forked child holding the mapping, waiting for forkRelease(). */
  forkHold(buffer: ArrayBuffer): { pid: number; fd: number };
  /** The held child writes the pattern over its mapping, checks it (exit 1: mismatch) and exits. */
  forkRelease(pid: number, fd: number, seed: number, firstIndex: number): { exitCode: number | null; signal: number | null };
  /**
   * A forked child joins the cgroup of `procsPath`, reads the mapping, reads
   * `filePath` `passes` times, then checks the mapping holds the pattern
   * (exit 1 if not, 3: could not join, 4: could not read the file).
   */
  pressureChild(
    buffer: ArrayBuffer,
    procsPath: string,
    filePath: string,
    passes: number,
    seed: number,
    firstIndex: number,
  ): { exitCode: number | null; signal: number | null };
  /** sched_setaffinity(2): pins process `pid` (0: the caller) to CPU `cpu`, or to the CPUs of a non-empty array. */
  setAffinity(pid: number, cpu: number | readonly number[]): void;
  /** sched_getaffinity(2): the CPUs process `pid` (0: the caller) may run on, ascending. */
  getAffinity(pid: number): number[];
  constants(): NativeConstants;
}

const FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'open',
  'close',
  'ioctl',
  'ioctlNoArg',
  'ioctlWithArray',
  'ioctlAsync',
  'mmap',
  'mmapOver',
  'address',
  'munmap',
  'munmapRange',
  'unsafeMunmapKeepingBuffer',
  'mremap',
  'mprotect',
  'madvise',
  'msync',
  'msyncAsync',
  'mincore',
  'touch',
  'readAll',
  'fillAll',
  'patternWrite',
  'patternCheck',
  'forkWrite',
  'forkTouch',
  'setAffinity',
  'getAffinity',
  'constants',
  'pipe',
  'socketPair',
  'transfer',
  'vmsplice',
  'splice',
  'remoteAccess',
  'futexHandoff',
  'futexWaitPrivate',
  'mlock',
  'munlock',
  'childSmaps',
  'ioUring',
  'uffdRegister',
  'coreDumpChild',
  'forkHold',
  'forkRelease',
  'pressureChild',
];

let addon: NativeAddon | undefined;
let constants: NativeConstants | undefined;

/** The addon, loaded on first call. Throws MmaplabError 'ERR_ADDON_LOAD'. */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}

/** native().constants(), read once. */
export function nativeConstants(): NativeConstants {
  constants ??= native().constants();
  return constants;
}

/**
 * The directory holding mmaplab's package.json (and binding.gyp, build/,
 * prebuilds/), found by walking up from this file: that is three levels up
 * from dist/lib/device/native.js, two from lib/device/native.ts.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && (pkg as { name?: unknown }).name === 'mmaplab') {
        return dir;
      }
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) {
      throw deviceError('ERR_ADDON_LOAD', `cannot find mmaplab's package.json above ${from}`);
    }
  }
}

function load(): NativeAddon {
  const root = packageRoot();
  let loaded: unknown;
  try {
    // node-gyp-build ships no types: its only export is (dir) => exports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an untyped package, loaded on the first call so a missing addon is this function's error
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    loaded = gypBuild(root);
  } catch (err) {
    throw deviceError(
      'ERR_ADDON_LOAD',
      `cannot load the mmaplab addon from ${root} (${(err as Error).message}); ` +
        'build it with `npx node-gyp rebuild` (npm run build:addon)',
      { cause: err },
    );
  }
  const exports = loaded as Record<string, unknown> | null;
  const missing = FUNCTIONS.filter((name) => typeof exports?.[name] !== 'function');
  if (missing.length > 0) {
    throw deviceError(
      'ERR_ADDON_LOAD',
      `the addon loaded from ${root} lacks ${missing.join(', ')}: rebuild it with \`npx node-gyp rebuild\``,
    );
  }
  return loaded as NativeAddon;
}
