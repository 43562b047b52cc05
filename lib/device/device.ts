/**
 * One session of /dev/mmaplab (class Device): open, CONFIGURE (allocator, mapping method,
 * size, cache attribute, fault-around), FILL / VERIFY the seeded pattern,
 * mmap, read / write, STATS / INFO / LAST_ERROR, the FREE_WHILE_MAPPED
 * hazard, close.
 *
 * Every system-call failure is thrown unchanged from the addon (code, errno,
 * syscall): a refusal by the module is an answer, not a bug. When CONFIGURE,
 * mmap or FREE_WHILE_MAPPED fails, the module's own reason (LAST_ERROR) is
 * attached to that same error object as `err.mmaplab` (see
 * {@link failureReason}). Mappings outlive close(), as they do in C: the
 * mapping holds its own reference to the file.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { deviceError, errnoName, invalidArgType, invalidArgValue, isSyscallError, outOfRange, type SyscallError } from './errors';
import {
  ALLOCS,
  type AllocName,
  assertLayout,
  CACHES,
  type CacheName,
  CONFIG_FLAGS,
  type ConfigStruct,
  CONFIG_LAYOUT,
  decode,
  DEVICE_DMA_LAYOUT,
  SHMEM_PIN_LAYOUT,
  SHMEM_PIN_VALUES,
  DMA_DIRECTIONS,
  DMABUF_LAYOUT,
  DMABUF_OPS,
  type DmaDirection,
  encode,
  enumName,
  FILL_LAYOUT,
  INFO_FLAGS,
  INFO_LAYOUT,
  type InfoStruct,
  LAST_ERROR_LAYOUT,
  type LastErrorStruct,
  METHODS,
  type MethodName,
  MODULE_COUNTERS_LAYOUT,
  NO_MISMATCH,
  PAGE_FLAGS,
  PAGE_INFO_LAYOUT,
  type PageInfoStruct,
  type ReasonName,
  REASONS,
  REQUESTS,
  STATS_LAYOUT,
  type StatsStruct,
  STORE_LAYOUT,
  STORE_PAGE_LAYOUT,
  type StoreStruct,
  type StructLayout,
  type StructValues,
  VERIFY_LAYOUT,
} from './layout';
import { DmaBuf, type DmaBufState } from './dmabuf';
import { mapFd, type Mapping, type Placement, type Protection } from './mapping';
import { native, nativeConstants, type RequestName } from './native';
import { storeFromStruct, storePageFromStruct, storeRequest, type StoreOptions, type StorePage, type StoreSnapshot } from './store';
import { configHazard } from './support';

export const DEFAULT_DEVICE_PATH = '/dev/mmaplab';

/**
 * The most page entries info() asks for: four times the pages of a MAX_SIZE
 * buffer with 4 KiB pages (24 bytes each, 1.5 MiB).
 */
export const MAX_PAGE_INFO = 65536;

export interface OpenOptions {
  /** O_RDWR ('rw', the default) or O_RDONLY ('r'). O_CLOEXEC is always set. */
  access?: 'r' | 'rw';
}

/** How CONFIGURE marks the buffer's pages reserved (see ConfigureOptions.reserved). */
export const RESERVED_MODES = ['cleared', 'kept'] as const;
export type ReservedMode = (typeof RESERVED_MODES)[number];

/** The CONFIGURE flag of each reserved mode; INFO's config_flags are read back through it. */
const RESERVED_FLAG: Readonly<Record<ReservedMode, number>> = {
  cleared: CONFIG_FLAGS.RESERVED,
  kept: CONFIG_FLAGS.RESERVED_KEPT,
};

/** The reserved mode `flags` (MMAPLAB_CF_*) hold, or null for none. */
function reservedOf(flags: number): ReservedMode | null {
  return RESERVED_MODES.find((m) => (flags & RESERVED_FLAG[m]) !== 0) ?? null;
}

export interface ConfigureOptions {
  alloc: AllocName;
  method: MethodName;
  /** Bytes: a non-zero multiple of the page size, at most MAX_SIZE (the module checks). */
  size: number | bigint;
  /** Page-table cache attribute (pfn-based methods only; the module checks). Default 'wb'. */
  cache?: CacheName;
  /** MMAPLAB_CF_FAULT_AROUND: fault methods also install ->map_pages. Default false. */
  faultAround?: boolean;
  /**
   * SetPageReserved on every page of the buffer, as old drivers do:
   * 'cleared' (MMAPLAB_CF_RESERVED) clears it again before the free,
   * 'kept' (MMAPLAB_CF_RESERVED_KEPT, a hazard) leaves it set. Either is a
   * hazard on compound pages (kmalloc, pages_comp: PG_reserved is
   * PF_NO_COMPOUND). Default none.
   */
  reserved?: ReservedMode;
  /**
   * pci_bar mapped by remap_pfn_range, io_remap_pfn_range or
   * vm_iomap_memory without the module's refusal to split the VMA
   * (MMAPLAB_CF_SPLITTABLE, a hazard: x86 PAT then mishandles a partial
   * munmap). Default false.
   */
  splittable?: boolean;
  /**
   * The caller means to run a hazard (a pair the support table marks as
   * one, reserved 'kept' or on compound pages, splittable: each can corrupt
   * the kernel or make it complain). Without it such a request is refused here
   * ('ERR_HAZARD_NOT_REQUESTED') before the module is asked; the module
   * itself also needs allow_hazards=1 and CAP_SYS_ADMIN. Default false.
   */
  hazards?: boolean;
  /**
   * deferred_io*: ms from a batch's first write to its flush (0: the
   * module's default, 50). The module refuses it for other methods.
   */
  deferMs?: number;
  /**
   * page_cache: write the dirty pages back from a kernel work item every
   * this many ms (0: never). The module refuses it for other methods.
   */
  syncPeriodMs?: number;
}

export interface MapOptions {
  /** Bytes; default the configured size minus `offset`. */
  length?: number;
  /** Byte offset into the device buffer (a page multiple). Default 0. */
  offset?: number;
  /** MAP_PRIVATE instead of MAP_SHARED. Default false. */
  private?: boolean;
  /** Default 'rw'. */
  prot?: Protection;
  /** MAP_POPULATE. Default false. */
  populate?: boolean;
  /** Where the mapping goes: kernel-chosen (default), a hint, MAP_FIXED_NOREPLACE, MAP_FIXED over a mapping. */
  placement?: Placement;
}

/**
 * What DEVICE_DMA did: VERIFY's answer (for 'to-device'), the transfers the
 * device made, and the DMA segments it was given (1 for a dma_device or
 * dma_pages buffer; for the streaming map of any other buffer, the
 * scatterlist's entries: one per run of physically adjacent pages).
 */
export interface DeviceDmaResult extends VerifyResult {
  readonly transfers: number;
  readonly segments: number;
}

export interface UnpinOptions {
  /**
   * Mark every page dirty before giving it back (default true). false is
   * the hazard of a shrinker that forgets set_page_dirty: reclaim may drop
   * a page only the kernel wrote. Needs the module's allow_hazards=1 and
   * CAP_SYS_ADMIN ('hazard-disabled' / 'hazard-cap' otherwise).
   */
  markDirty?: boolean;
}

/** What pinPages found: how many of the object's pages reclaim had moved to swap. */
export interface PinResult {
  readonly fromSwap: number;
}

export interface VerifyResult {
  /** The whole buffer held the pattern. */
  readonly ok: boolean;
  /** Byte offset of the first bad word, or null when ok. */
  readonly mismatch: bigint | null;
  /** The word the pattern wanted at `mismatch` (as the module reported it). */
  readonly expected: number;
  /** The word the buffer held at `mismatch`. */
  readonly found: number;
}

/**
 * struct mmaplab_module_counters: what the whole module holds right now,
 * over every session (numbers: they count objects and pages, far below
 * 2^53).
 */
export interface ModuleCounters {
  /** Buffers allocated (CONFIGURE to reconfigure or last close; FREE_WHILE_MAPPED ones too). */
  readonly buffers: number;
  /** Pages of memory those buffers hold (not the stores the module keeps). */
  readonly pages: number;
  /** Open files of the device, this one included. */
  readonly sessions: number;
}

/** struct mmaplab_stats: the session's counters since open (u64, so bigints). */
export interface DeviceStats {
  /** ->fault calls that served a page or pfn. */
  readonly faults: bigint;
  /** ->map_pages (fault-around) calls. */
  readonly mapPagesCalls: bigint;
  /** Pages or pfns installed by any method. */
  readonly pagesMapped: bigint;
  /** ->mmap successes plus VMA ->open (split, fork). */
  readonly vmaOpens: bigint;
  /** VMA ->close. */
  readonly vmaCloses: bigint;
  readonly readCalls: bigint;
  readonly readBytes: bigint;
  readonly writeCalls: bigint;
  readonly writeBytes: bigint;
  /** page_cache, deferred_io: pages filled from the backing store (->read_folio). */
  readonly readFolioCalls: bigint;
  /** ->writepages/->writepage calls and deferred-I/O flush runs. */
  readonly writebackCalls: bigint;
  /** Pages copied to the backing store, by any path. */
  readonly pagesWritten: bigint;
  /** Writeback calls or flushes that wrote at least one page. */
  readonly batches: bigint;
  /** ->page_mkwrite calls. */
  readonly mkwriteFaults: bigint;
  /** Runs of the periodic sync (syncPeriodMs). */
  readonly periodicRuns: bigint;
  /** First write of a page to its arrival in the store: the latest, and the longest since open (ns). */
  readonly flushLatencyLastNs: bigint;
  readonly flushLatencyMaxNs: bigint;
}

/** struct mmaplab_page_info: the state of one page of the buffer, decoded. */
export interface PageInfo {
  readonly pfn: bigint;
  readonly compound: boolean;
  readonly head: boolean;
  readonly tail: boolean;
  readonly slab: boolean;
  /** Has a page type (buddy, page table, slab on 6.12). */
  readonly typed: boolean;
  readonly reserved: boolean;
  /** The pfn has no struct page. */
  readonly noStructPage: boolean;
  /** page_ref_count(). */
  readonly refcount: number;
  /** page_mapcount() (0 when typed). */
  readonly mapcount: number;
  /** Compound order of a head page, 0 otherwise. */
  readonly order: number;
  /** The raw MMAPLAB_PAGE_* bits (bits this build does not name included). */
  readonly flags: number;
}

/** struct mmaplab_info, decoded. */
export interface DeviceInfo {
  /** null when not configured (the module reports 0) or a value this build does not know. */
  readonly alloc: AllocName | null;
  /** null when not configured (the module reports 0) or a value this build does not know. */
  readonly method: MethodName | null;
  /** Bytes. */
  readonly size: bigint;
  readonly nrPages: bigint;
  readonly configured: boolean;
  /** Physically contiguous. */
  readonly contiguous: boolean;
  /** Freed by FREE_WHILE_MAPPED. */
  readonly freed: boolean;
  /** KMALLOC memory that came from a slab cache. */
  readonly slab: boolean;
  /** A shmem buffer whose pages were given back to the object (unpinPages). */
  readonly unpinned: boolean;
  /** null for a value this build does not know. */
  readonly cache: CacheName | null;
  readonly faultAround: boolean;
  /** How the buffer's pages were marked reserved, or null for not at all. */
  readonly reserved: ReservedMode | null;
  /** Configured with splittable (MMAPLAB_CF_SPLITTABLE). */
  readonly splittable: boolean;
  /** Live VMAs. */
  readonly mappings: number;
  /** The pages, when info() was asked for them. */
  readonly pages?: readonly PageInfo[];
}

export interface InfoOptions {
  /**
   * Also read per-page state: true for every page of the buffer, a number
   * for at most that many (0 to MAX_PAGE_INFO). Default false.
   */
  pages?: boolean | number;
}

/** struct mmaplab_last_error, decoded. */
export interface LastError {
  /** Negative errno of the failure, as in Node's errors; 0 if none. */
  readonly errno: number;
  /** 'EINVAL' and so on (kernel-internal ones too, e.g. 'ENOTSUPP'); null when errno is 0 or unnamed. */
  readonly code: string | null;
  /** null for a value this build does not know. */
  readonly reason: ReasonName | null;
  /** The module's sentence, for people. */
  readonly text: string;
}

/** What the module said about a failed CONFIGURE, mmap or hazard ioctl. */
export interface FailureReason {
  readonly reason: ReasonName | null;
  readonly text: string;
}

/** A system-call error of CONFIGURE, mmap or FREE_WHILE_MAPPED, maybe explained. */
export interface MmaplabSyscallError extends SyscallError {
  /**
   * Set when the session's LAST_ERROR, read right after the failure, holds
   * a reason other than 'none' for this very errno. Absent when the module
   * recorded nothing (the kernel refused before reaching the driver, say),
   * or LAST_ERROR itself failed (not the mmaplab device).
   */
  mmaplab?: FailureReason;
}

/** The module's reason attached to `err` by Device, if any. */
export function failureReason(err: unknown): FailureReason | undefined {
  if (!isSyscallError(err)) return undefined;
  const r = (err as MmaplabSyscallError).mmaplab;
  return typeof r === 'object' && r !== null ? r : undefined;
}

let layoutChecked = false;

export class Device {
  readonly path: string;
  #fd: number;
  /** Bytes of the configured buffer (0 until configure() succeeds). */
  #size = 0;
  /** Asynchronous ioctls in flight: close() waits for none, it refuses. */
  #pending = 0;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Opens a session. Any path works (tests map /dev/zero through it); the
   * ioctls then fail with the file's own errno (ENOTTY). Throws MmaplabError
   * 'ERR_LAYOUT_MISMATCH' if layout.ts disagrees with the built addon.
   */
  static open(path: string = DEFAULT_DEVICE_PATH, options: OpenOptions = {}): Device {
    if (!layoutChecked) {
      assertLayout(nativeConstants());
      layoutChecked = true;
    }
    const sys = nativeConstants().sys;
    const access = options.access ?? 'rw';
    if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
    if (access !== 'r' && access !== 'rw') throw invalidArgValue('access', "'r' or 'rw'", access);
    const flags = (access === 'rw' ? sys.O_RDWR : sys.O_RDONLY) | sys.O_CLOEXEC;
    return new Device(path, native().open(path, flags));
  }

  /**
   * A Device over a descriptor this process already holds (inherited from
   * a parent through spawn's stdio, say): the same session, whose size it
   * does not know (map() then needs a length). close() closes `fd`.
   */
  static fromFd(fd: number, path: string = DEFAULT_DEVICE_PATH): Device {
    if (!Number.isInteger(fd) || fd < 0) throw outOfRange('fd', 'a non-negative integer', fd);
    return new Device(path, fd);
  }

  /** A second descriptor for this same session (fcntl F_DUPFD_CLOEXEC): closing either leaves the other open. */
  dup(): Device {
    const copy = new Device(this.path, native().dup(this.fd));
    copy.#size = this.#size;
    return copy;
  }

  /** The file descriptor. Throws MmaplabError 'ERR_DEVICE_CLOSED' after close(). */
  get fd(): number {
    if (this.#fd < 0) {
      throw deviceError('ERR_DEVICE_CLOSED', `${this.path} was closed; open a new session`);
    }
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * CONFIGURE: allocate the session's buffer. On a refusal the error
   * carries the module's reason as `err.mmaplab`.
   */
  configure(options: ConfigureOptions): void {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const { alloc, method } = options;
    for (const [old, now] of [
      ['allocator', 'alloc'],
      ['technique', 'method'],
    ] as const) {
      if (Object.hasOwn(options, old))
        throw invalidArgValue(old, `spelled "${now}" (the uapi header's word)`, (options as unknown as Record<string, unknown>)[old]);
    }
    if (typeof alloc !== 'string' || !Object.hasOwn(ALLOCS, alloc)) {
      throw invalidArgValue('alloc', `one of ${Object.keys(ALLOCS).join(', ')}`, alloc);
    }
    if (typeof method !== 'string' || !Object.hasOwn(METHODS, method)) {
      throw invalidArgValue('method', `one of ${Object.keys(METHODS).join(', ')}`, method);
    }
    const cache = options.cache ?? 'wb';
    if (typeof cache !== 'string' || !Object.hasOwn(CACHES, cache)) {
      throw invalidArgValue('cache', `one of ${Object.keys(CACHES).join(', ')}`, cache);
    }
    const faultAround = options.faultAround ?? false;
    if (typeof faultAround !== 'boolean') throw invalidArgType('faultAround', 'of type boolean', faultAround);
    const reserved = options.reserved;
    if (reserved !== undefined && !(RESERVED_MODES as readonly unknown[]).includes(reserved)) {
      throw invalidArgValue('reserved', `one of ${RESERVED_MODES.join(', ')}`, reserved);
    }
    const splittable = options.splittable ?? false;
    if (typeof splittable !== 'boolean') throw invalidArgType('splittable', 'of type boolean', splittable);
    const hazards = options.hazards ?? false;
    if (typeof hazards !== 'boolean') throw invalidArgType('hazards', 'of type boolean', hazards);
    const size = toU64('size', options.size);
    const deferMs = options.deferMs ?? 0;
    if (typeof deferMs !== 'number') throw invalidArgType('deferMs', 'of type number', deferMs);
    if (!Number.isInteger(deferMs) || deferMs < 0 || deferMs > 0xffff_ffff) {
      throw outOfRange('deferMs', 'an integer in [0, 2^32)', deferMs);
    }
    const syncPeriodMs = options.syncPeriodMs ?? 0;
    if (typeof syncPeriodMs !== 'number') throw invalidArgType('syncPeriodMs', 'of type number', syncPeriodMs);
    if (!Number.isInteger(syncPeriodMs) || syncPeriodMs < 0 || syncPeriodMs > 0xffff_ffff) {
      throw outOfRange('syncPeriodMs', 'an integer in [0, 2^32)', syncPeriodMs);
    }
    const hazard = configHazard(alloc, method, { reserved, splittable });
    if (!hazards && hazard !== null) {
      throw deviceError(
        'ERR_HAZARD_NOT_REQUESTED',
        `${hazard}; pass hazards: true to run it (the module also needs allow_hazards=1 and CAP_SYS_ADMIN)`,
      );
    }
    this.configureRaw({
      alloc: ALLOCS[alloc],
      method: METHODS[method],
      size,
      flags:
        (faultAround ? CONFIG_FLAGS.FAULT_AROUND : 0) |
        (reserved !== undefined ? RESERVED_FLAG[reserved] : 0) |
        (splittable ? CONFIG_FLAGS.SPLITTABLE : 0),
      cache: CACHES[cache],
      delay_ms: deferMs,
      period_ms: syncPeriodMs,
    });
  }

  /**
   * CONFIGURE with the struct exactly as given: for experiments that check
   * the module refuses bad input (unknown enums or flags, sizes that are
   * zero, huge or not page multiples). Refusals carry `err.mmaplab`.
   */
  configureRaw(config: ConfigStruct): void {
    this.#size = 0;
    this.#explained(() => this.#ioctl('CONFIGURE', CONFIG_LAYOUT, config));
    this.#size = config.size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(config.size) : 0;
  }

  /** FILL: the module writes the pattern for `seed` over the whole buffer. */
  fill(seed: number): void {
    this.#ioctl('FILL', FILL_LAYOUT, { seed, reserved: 0 });
  }

  /** FILL on the thread pool (a large buffer under emulation takes a while). */
  async fillAsync(seed: number): Promise<void> {
    await this.#ioctlAsync('FILL', FILL_LAYOUT, { seed, reserved: 0 });
  }

  /** VERIFY: the module checks the buffer holds the pattern for `seed`. */
  verify(seed: number): VerifyResult {
    return verifyResult(this.#ioctl('VERIFY', VERIFY_LAYOUT, verifyRequest(seed)));
  }

  /** VERIFY on the thread pool. */
  async verifyAsync(seed: number): Promise<VerifyResult> {
    return verifyResult(await this.#ioctlAsync('VERIFY', VERIFY_LAYOUT, verifyRequest(seed)));
  }

  /**
   * DEVICE_DMA: the device reads the buffer ('to-device'; the result says
   * whether what it read held the pattern of `seed`) or writes that
   * pattern into it ('from-device'; the result is ok). A dma_device or
   * dma_pages buffer is reached at its own DMA address; any other buffer
   * with struct pages is mapped for the transfer (dma_map_sgtable) and
   * unmapped after it. Refused for memory without struct pages
   * ('combination'), without the device ('no-device'), and when the device
   * cannot address all memory ('out-of-reach'). Slow: the emulated device
   * takes 100 ms per transfer, four transfers per page, with the session
   * held; so more than 64 pages are refused ('bad-size').
   */
  deviceDma(direction: DmaDirection, seed: number): DeviceDmaResult {
    if (typeof direction !== 'string' || !Object.hasOwn(DMA_DIRECTIONS, direction)) {
      throw invalidArgValue('direction', `one of ${Object.keys(DMA_DIRECTIONS).join(', ')}`, direction);
    }
    const out = this.#ioctl('DEVICE_DMA', DEVICE_DMA_LAYOUT, {
      direction: DMA_DIRECTIONS[direction],
      seed,
      mismatch: 0n,
      expected: 0,
      found: 0,
      transfers: 0n,
      segments: 0,
      reserved: 0,
    });
    const ok = out.mismatch === NO_MISMATCH;
    return {
      ok,
      mismatch: ok ? null : out.mismatch,
      expected: out.expected,
      found: out.found,
      transfers: Number(out.transfers),
      segments: out.segments,
    };
  }

  /**
   * SHMEM_PIN 0 of a shmem buffer: mark its pages dirty and give them back
   * to the object, as a GPU driver's shrinker does with an idle object;
   * reclaim may then move them to swap. Refused while the buffer is mapped
   * ('mapped'); until pinPages(), FILL, VERIFY, read, write and map are
   * refused ('unpinned'). `{ markDirty: false }` is SHMEM_PIN 2, the hazard
   * (see UnpinOptions).
   */
  unpinPages(options: UnpinOptions = {}): void {
    const dirty = options.markDirty ?? true;
    if (typeof dirty !== 'boolean') throw invalidArgType('markDirty', 'of type boolean', dirty);
    const pin = dirty ? SHMEM_PIN_VALUES.unpin : SHMEM_PIN_VALUES['unpin-clean'];
    this.#explained(() => this.#ioctl('SHMEM_PIN', SHMEM_PIN_LAYOUT, { pin, reserved: 0, from_swap: 0n }));
  }

  /** SHMEM_PIN 1: read every page of the object in again and hold it; says how many came back from swap. */
  pinPages(): PinResult {
    const out = this.#ioctl('SHMEM_PIN', SHMEM_PIN_LAYOUT, { pin: SHMEM_PIN_VALUES.pin, reserved: 0, from_swap: 0n });
    return { fromSwap: Number(out.from_swap) };
  }

  /**
   * mmap(2) of the session's buffer: MAP_SHARED, read-write, the whole
   * configured buffer by default. A refusal carries the module's reason as
   * `err.mmaplab`.
   */
  map(options: MapOptions = {}): Mapping {
    return this.#mapFd(this.fd, options);
  }

  /**
   * DMABUF EXPORT: the buffer as a dma-buf, a descriptor of its own (the
   * one already exported while it lives, another descriptor of it). The
   * session stays alive, and CONFIGURE is refused ('exported'), until every
   * descriptor and mapping of the dma-buf is gone. Refused for the
   * file-backed methods ('combination').
   */
  exportDmaBuf(): DmaBuf {
    const out = this.#explained(() => this.#ioctl('DMABUF', DMABUF_LAYOUT, dmabufRequest(DMABUF_OPS.export)));
    // The dma-buf outlives this descriptor: its default length is the buffer's now.
    const size = this.#size;
    return new DmaBuf(out.fd, (fd, o) => this.#mapFd(fd, { ...o, length: o.length ?? size - (o.offset ?? 0) }));
  }

  /** DMABUF QUERY: whether a dma-buf of the buffer lives, and the DMA_BUF_IOCTL_SYNC calls it had. */
  dmaBufState(): DmaBufState {
    const out = this.#ioctl('DMABUF', DMABUF_LAYOUT, dmabufRequest(DMABUF_OPS.query));
    return { alive: out.alive !== 0, cpuBegin: Number(out.cpu_begin), cpuEnd: Number(out.cpu_end) };
  }

  /** mmap(2) of `fd`, a descriptor of this session (the device's, or its dma-buf's). */
  #mapFd(fd: number, options: MapOptions): Mapping {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const offset = options.offset ?? 0;
    let length = options.length;
    if (length === undefined) {
      if (this.#size === 0) {
        throw deviceError('ERR_NOT_CONFIGURED', 'map() needs a length until configure() has sized the buffer');
      }
      if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.#size) {
        throw outOfRange('offset', `an integer in [0, ${this.#size}) (the configured size)`, offset);
      }
      length = this.#size - offset;
    }
    const mapLength = length;
    const mmapOptions = {
      offset,
      private: options.private ?? false,
      prot: options.prot ?? 'rw',
      populate: options.populate ?? false,
      ...(options.placement !== undefined ? { placement: options.placement } : {}),
    };
    return this.#explained(() => mapFd(fd, mapLength, mmapOptions));
  }

  /**
   * COUNTERS: the module's allocation counters, over all sessions (works
   * on any open device, configured or not). For leak checks.
   */
  counters(): ModuleCounters {
    const c = this.#ioctl('COUNTERS', MODULE_COUNTERS_LAYOUT, { buffers: 0n, pages: 0n, sessions: 0n, reserved: 0n });
    return { buffers: Number(c.buffers), pages: Number(c.pages), sessions: Number(c.sessions) };
  }

  /** STATS: the session's counters since open. */
  stats(): DeviceStats {
    const s = this.#ioctl('STATS', STATS_LAYOUT, {
      faults: 0n,
      map_pages_calls: 0n,
      pages_mapped: 0n,
      vma_opens: 0n,
      vma_closes: 0n,
      read_calls: 0n,
      read_bytes: 0n,
      write_calls: 0n,
      write_bytes: 0n,
      read_folio_calls: 0n,
      writeback_calls: 0n,
      pages_written: 0n,
      batches: 0n,
      mkwrite_faults: 0n,
      periodic_runs: 0n,
      flush_latency_last_ns: 0n,
      flush_latency_max_ns: 0n,
    });
    return statsFromStruct(s);
  }

  /**
   * STORE: the backing store of a page_cache or deferred_io session (this
   * one's, or by `id` one the module kept after its session closed): per
   * page when and by which path the bytes arrived, and the bytes when asked.
   * Records and bytes are two ioctls, so a page arriving in between shows
   * in the bytes first; `nowNs` and `batches` are read with the records. A
   * refusal carries `err.mmaplab`. By `id`, only the store's owner (the
   * euid that opened the session which created it) or a session opened with
   * CAP_SYS_ADMIN may read it: anyone else gets EPERM, reason 'not-owner',
   * before any byte is copied. Id 0, the session's own store, is always
   * allowed.
   */
  store(options: StoreOptions = {}): StoreSnapshot {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const id = options.id ?? 0n;
    if (typeof id !== 'bigint' || id < 0n) throw invalidArgType('id', 'a non-negative bigint', id);
    const wantData = options.data ?? false;
    if (typeof wantData !== 'boolean' && typeof wantData !== 'number') {
      throw invalidArgType('data', 'of type boolean or number', wantData);
    }
    const wantPages = options.pages ?? true;
    if (typeof wantPages !== 'boolean') throw invalidArgType('pages', 'of type boolean', wantPages);
    const head = this.#explained(() => this.#ioctl('STORE', STORE_LAYOUT, storeRequest(id)));
    const size = Number(head.size);
    // The header of the call that read the records: its read time and batch
    // count are of the same snapshot (the first call's would precede a page
    // that arrived before the second).
    let snapshot = head;
    const pages: StorePage[] = [];
    if (wantPages && size > 0) {
      const max = Math.ceil(size / nativeConstants().PAGE_SIZE);
      const entry = STORE_PAGE_LAYOUT.size;
      const array = new Uint8Array(max * entry);
      const out = this.#storeInto(id, 'pages', array, max, entry);
      snapshot = out;
      const filled = Math.min(Number(out.pages_filled), max);
      for (let i = 0; i < filled; i++) {
        pages.push(storePageFromStruct(decode(STORE_PAGE_LAYOUT, array.subarray(i * entry, (i + 1) * entry))));
      }
    }
    let data = Buffer.alloc(0);
    if (wantData !== false && size > 0) {
      if (typeof wantData === 'number' && !(Number.isSafeInteger(wantData) && wantData >= 0)) {
        throw outOfRange('data', 'a non-negative integer', wantData);
      }
      data = Buffer.alloc(wantData === true ? size : Math.min(wantData, size));
      if (data.byteLength > 0) this.#storeInto(id, 'data', data, data.byteLength, 1);
    }
    return storeFromStruct(snapshot, data, pages);
  }

  /**
   * One STORE that fills `array` (the store's bytes, or its page records)
   * through the pointer field the addon owns; returns the struct it got back.
   */
  #storeInto(id: bigint, what: 'data' | 'pages', array: Uint8Array, count: number, elementSize: number): StoreStruct {
    const fd = this.fd;
    const f = STORE_LAYOUT.fields;
    const [ptr, max] = what === 'data' ? [f.data_ptr, f.data_len] : [f.pages_ptr, f.pages_max];
    const struct = encode(STORE_LAYOUT, {
      ...storeRequest(id),
      ...(what === 'data' ? { data_len: BigInt(count) } : { pages_max: BigInt(count) }),
    });
    this.#explained(() => native().ioctlWithArray(fd, REQUESTS.STORE, struct, ptr.offset, array, max.offset, elementSize));
    return decode(STORE_LAYOUT, struct);
  }

  /** FLUSH: a page_cache or deferred_io session sends its dirty pages to the store now. */
  flush(): void {
    const fd = this.fd;
    this.#explained(() => native().ioctlNoArg(fd, REQUESTS.FLUSH));
  }

  /** fsync(2) of the device file (fdatasync(2) with `dataOnly`). Errors are Node's. */
  fsync(dataOnly = false): void {
    if (typeof dataOnly !== 'boolean') throw invalidArgType('dataOnly', 'of type boolean', dataOnly);
    if (dataOnly) fs.fdatasyncSync(this.fd);
    else fs.fsyncSync(this.fd);
  }
  /**
   * INFO: the buffer's allocator, method, size and state; with `pages`, the
   * state of its pages too, through an array the addon passes by pointer (JS
   * never sees the address). pages: true costs two INFOs (the first learns
   * nr_pages), a number one; `pages` then holds pages_filled entries.
   */
  info(options: InfoOptions = {}): DeviceInfo {
    const want = options.pages ?? false;
    if (typeof want !== 'boolean' && typeof want !== 'number') {
      throw invalidArgType('pages', 'of type boolean or number', want);
    }
    if (typeof want === 'number' && !(Number.isInteger(want) && want >= 0 && want <= MAX_PAGE_INFO)) {
      throw outOfRange('pages', `an integer in [0, ${MAX_PAGE_INFO}]`, want);
    }
    const request: InfoStruct = {
      alloc: 0,
      method: 0,
      size: 0n,
      nr_pages: 0n,
      flags: 0,
      cache: 0,
      config_flags: 0,
      mappings: 0,
      pages_ptr: 0n,
      pages_max: 0n,
      pages_filled: 0n,
    };
    if (want === false || want === 0) {
      const out = this.#ioctl('INFO', INFO_LAYOUT, request);
      return want === 0 ? { ...infoFromStruct(out), pages: [] } : infoFromStruct(out);
    }
    let max: number;
    if (want === true) {
      // One INFO for the page count, one with room for every page.
      const first = this.#ioctl('INFO', INFO_LAYOUT, request);
      max = Number(first.nr_pages < BigInt(MAX_PAGE_INFO) ? first.nr_pages : BigInt(MAX_PAGE_INFO));
      if (max === 0) return { ...infoFromStruct(first), pages: [] };
    } else {
      max = want;
    }

    const struct = encode(INFO_LAYOUT, { ...request, pages_max: BigInt(max) });
    const entry = PAGE_INFO_LAYOUT.size;
    const array = new Uint8Array(max * entry);
    native().ioctlWithArray(
      this.fd,
      REQUESTS.INFO,
      struct,
      INFO_LAYOUT.fields.pages_ptr.offset,
      array,
      INFO_LAYOUT.fields.pages_max.offset,
      entry,
    );
    const out = decode(INFO_LAYOUT, struct);
    const filled = Number(out.pages_filled < BigInt(max) ? out.pages_filled : BigInt(max));
    const pages: PageInfo[] = [];
    for (let i = 0; i < filled; i++) {
      pages.push(pageInfoFromStruct(decode(PAGE_INFO_LAYOUT, array.subarray(i * entry, (i + 1) * entry))));
    }
    return { ...infoFromStruct(out), pages };
  }

  /** LAST_ERROR: why the session's last CONFIGURE, mmap or hazard ioctl failed. */
  lastError(): LastError {
    return lastErrorFromStruct(this.#ioctl('LAST_ERROR', LAST_ERROR_LAYOUT, { error: 0, reason: 0, text: '' }));
  }

  /**
   * FREE_WHILE_MAPPED (hazard: needs allow_hazards=1 and CAP_SYS_ADMIN): the
   * module frees the buffer while it is mapped. A refusal carries
   * `err.mmaplab`.
   */
  freeWhileMapped(): void {
    const fd = this.fd;
    this.#explained(() => native().ioctlNoArg(fd, REQUESTS.FREE_WHILE_MAPPED));
  }

  /**
   * One read(2) of up to `length` bytes; pread(2) at `position` when given
   * (the file offset is then left alone). Returns the bytes read: shorter
   * than `length` at the end of the buffer, empty past it. The Buffer is a
   * view of a fresh, zeroed ArrayBuffer of `length` bytes. Errors are
   * Node's (syscall 'read').
   */
  read(length: number, position?: number): Buffer<ArrayBuffer> {
    if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length);
    if (!Number.isSafeInteger(length) || length < 0 || length > bufferConstants.MAX_LENGTH) {
      throw outOfRange('length', `an integer in [0, ${bufferConstants.MAX_LENGTH}]`, length);
    }
    const pos = toPosition(position);
    const buf = Buffer.alloc(length);
    const n = fs.readSync(this.fd, buf, 0, length, pos);
    return buf.subarray(0, n);
  }

  /**
   * One write(2) of `data`; pwrite(2) at `position` when given. Returns the
   * bytes written (maybe fewer than data.byteLength). Errors are Node's
   * (syscall 'write').
   */
  write(data: Uint8Array, position?: number): number {
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'an instance of Uint8Array or Buffer', data);
    const pos = toPosition(position);
    return fs.writeSync(this.fd, data, 0, data.byteLength, pos);
  }

  /**
   * close(2). Idempotent; mappings stay valid (they hold their own
   * reference to the file). While an asynchronous ioctl is in flight it
   * throws 'ERR_DEVICE_BUSY': the descriptor number must not be reused
   * under it.
   */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#pending > 0) {
      throw deviceError('ERR_DEVICE_BUSY', `${this.path}: ${this.#pending} asynchronous call(s) still running; await them first`);
    }
    const fd = this.#fd;
    this.#fd = -1;
    this.#size = 0;
    native().close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #ioctl<L extends StructLayout>(request: RequestName, layout: L, values: StructValues<L>): StructValues<L> {
    const bytes = encode(layout, values);
    native().ioctl(this.fd, REQUESTS[request], bytes);
    return decode(layout, bytes);
  }

  async #ioctlAsync<L extends StructLayout>(request: RequestName, layout: L, values: StructValues<L>): Promise<StructValues<L>> {
    const bytes = encode(layout, values);
    const call = native().ioctlAsync(this.fd, REQUESTS[request], bytes);
    this.#pending++;
    try {
      await call;
    } finally {
      this.#pending--;
    }
    return decode(layout, bytes);
  }

  /**
   * Runs `fn`; if it throws a system-call error, attaches the module's
   * reason (LAST_ERROR, when it names one for that errno) to the same error
   * object as `mmaplab` and rethrows it. A failing LAST_ERROR is ignored.
   */
  #explained<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isSyscallError(err) && this.#fd >= 0) {
        let last: LastError | undefined;
        try {
          last = this.lastError();
        } catch {
          // not the mmaplab device, or a module without LAST_ERROR
        }
        if (last !== undefined && last.reason !== 'none' && last.errno === err.errno) {
          (err as MmaplabSyscallError).mmaplab = { reason: last.reason, text: last.text };
        }
      }
      throw err;
    }
  }
}

function dmabufRequest(op: number): StructValues<typeof DMABUF_LAYOUT> {
  return { op, fd: -1, cpu_begin: 0n, cpu_end: 0n, alive: 0, reserved: 0 };
}

/** struct mmaplab_stats to the API's object. */
export function statsFromStruct(s: StatsStruct): DeviceStats {
  return {
    faults: s.faults,
    mapPagesCalls: s.map_pages_calls,
    pagesMapped: s.pages_mapped,
    vmaOpens: s.vma_opens,
    vmaCloses: s.vma_closes,
    readCalls: s.read_calls,
    readBytes: s.read_bytes,
    writeCalls: s.write_calls,
    writeBytes: s.write_bytes,
    readFolioCalls: s.read_folio_calls,
    writebackCalls: s.writeback_calls,
    pagesWritten: s.pages_written,
    batches: s.batches,
    mkwriteFaults: s.mkwrite_faults,
    periodicRuns: s.periodic_runs,
    flushLatencyLastNs: s.flush_latency_last_ns,
    flushLatencyMaxNs: s.flush_latency_max_ns,
  };
}

/** struct mmaplab_last_error to the API's object. */
export function lastErrorFromStruct(s: LastErrorStruct): LastError {
  return { errno: s.error, code: errnoName(s.error), reason: enumName(REASONS, s.reason), text: s.text };
}

/** struct mmaplab_info to the API's object (without pages). */
export function infoFromStruct(s: InfoStruct): DeviceInfo {
  return {
    alloc: enumName(ALLOCS, s.alloc),
    method: enumName(METHODS, s.method),
    size: s.size,
    nrPages: s.nr_pages,
    configured: (s.flags & INFO_FLAGS.CONFIGURED) !== 0,
    contiguous: (s.flags & INFO_FLAGS.CONTIGUOUS) !== 0,
    freed: (s.flags & INFO_FLAGS.FREED) !== 0,
    slab: (s.flags & INFO_FLAGS.SLAB) !== 0,
    unpinned: (s.flags & INFO_FLAGS.UNPINNED) !== 0,
    cache: enumName(CACHES, s.cache),
    faultAround: (s.config_flags & CONFIG_FLAGS.FAULT_AROUND) !== 0,
    reserved: reservedOf(s.config_flags),
    splittable: (s.config_flags & CONFIG_FLAGS.SPLITTABLE) !== 0,
    mappings: s.mappings,
  };
}

/** struct mmaplab_page_info to the API's object. */
export function pageInfoFromStruct(p: PageInfoStruct): PageInfo {
  return {
    pfn: p.pfn,
    compound: (p.flags & PAGE_FLAGS.COMPOUND) !== 0,
    head: (p.flags & PAGE_FLAGS.HEAD) !== 0,
    tail: (p.flags & PAGE_FLAGS.TAIL) !== 0,
    slab: (p.flags & PAGE_FLAGS.SLAB) !== 0,
    typed: (p.flags & PAGE_FLAGS.TYPED) !== 0,
    reserved: (p.flags & PAGE_FLAGS.RESERVED) !== 0,
    noStructPage: (p.flags & PAGE_FLAGS.NO_STRUCT_PAGE) !== 0,
    refcount: p.refcount,
    mapcount: p.mapcount,
    order: p.order,
    flags: p.flags,
  };
}

function verifyRequest(seed: number): StructValues<typeof VERIFY_LAYOUT> {
  return { seed, reserved: 0, mismatch: 0n, expected: 0, found: 0 };
}

function verifyResult(out: StructValues<typeof VERIFY_LAYOUT>): VerifyResult {
  const ok = out.mismatch === NO_MISMATCH;
  return { ok, mismatch: ok ? null : out.mismatch, expected: out.expected, found: out.found };
}

function toU64(name: string, value: number | bigint): bigint {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw invalidArgType(name, 'of type number or bigint', value);
  if (typeof value === 'bigint' && value >= 0n && value <= 0xffff_ffff_ffff_ffffn) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw outOfRange(name, 'a non-negative integer (safe, or a bigint below 2^64)', value);
}

/** undefined -> null (the file offset); else a non-negative safe integer. */
function toPosition(position: number | undefined): number | null {
  if (position === undefined) return null;
  if (typeof position !== 'number') throw invalidArgType('position', 'of type number', position);
  if (Number.isSafeInteger(position) && position >= 0) return position;
  throw outOfRange('position', 'a non-negative safe integer', position);
}
