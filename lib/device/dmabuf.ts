/**
 * A dma-buf of a session's buffer (Device.exportDmaBuf()): its own file
 * descriptor, mapped with mmap(2) of that descriptor and bracketed with
 * DMA_BUF_IOCTL_SYNC as userspace of a GPU, camera or media driver does.
 * The module maps it with the session's method, so a refusal carries the
 * module's reason as `err.mmaplab`, as Device.map()'s does.
 */
import * as fs from 'node:fs';
import { deviceError, invalidArgValue } from './errors';
import { mapFd, type Mapping } from './mapping';
import { native, nativeConstants } from './native';
import type { MapOptions } from './device';

/** Which CPU access a DMA_BUF_IOCTL_SYNC announces: DMA_BUF_SYNC_READ, _WRITE or both. */
export type CpuAccess = 'read' | 'write' | 'rw';

/** What DMABUF QUERY says of a session's dma-buf. */
export interface DmaBufState {
  /** A dma-buf of the buffer exists (a descriptor or a mapping holds it). */
  readonly alive: boolean;
  /** DMA_BUF_IOCTL_SYNC START calls on the session's dma-bufs since open. */
  readonly cpuBegin: number;
  /** ... END calls. */
  readonly cpuEnd: number;
}

export class DmaBuf {
  #fd: number;
  readonly #mapper: (fd: number, options: MapOptions) => Mapping;

  /** Made by Device.exportDmaBuf(); `mapper` maps a descriptor of the session. */
  constructor(fd: number, mapper: (fd: number, options: MapOptions) => Mapping) {
    this.#fd = fd;
    this.#mapper = mapper;
  }

  /** The dma-buf's descriptor. Throws 'ERR_DEVICE_CLOSED' after close(). */
  get fd(): number {
    if (this.#fd < 0) throw deviceError('ERR_DEVICE_CLOSED', 'the dma-buf descriptor was closed; export it again');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** mmap(2) of the dma-buf: MAP_SHARED, read-write, the whole buffer by default (Device.map()'s options). */
  map(options: MapOptions = {}): Mapping {
    return this.#mapper(this.fd, options);
  }

  /** DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START: the CPU is about to access the buffer. */
  beginCpuAccess(access: CpuAccess = 'rw'): void {
    this.#sync(nativeConstants().sys.DMA_BUF_SYNC_START, access);
  }

  /** DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_END: the CPU is done with it. */
  endCpuAccess(access: CpuAccess = 'rw'): void {
    this.#sync(nativeConstants().sys.DMA_BUF_SYNC_END, access);
  }

  /** Sends DMA_BUF_IOCTL_SYNC with exactly `flags` (struct dma_buf_sync), for checking what the kernel refuses. */
  syncRaw(flags: bigint): void {
    const arg = new Uint8Array(8);
    new DataView(arg.buffer).setBigUint64(0, flags, true);
    native().ioctl(this.fd, nativeConstants().sys.DMA_BUF_IOCTL_SYNC, arg);
  }

  /** close(2) of the descriptor; mappings keep the dma-buf (and the session) alive. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native().close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #sync(phase: number, access: CpuAccess): void {
    const sys = nativeConstants().sys;
    const bits = { read: sys.DMA_BUF_SYNC_READ, write: sys.DMA_BUF_SYNC_WRITE, rw: sys.DMA_BUF_SYNC_READ | sys.DMA_BUF_SYNC_WRITE };
    if (!Object.hasOwn(bits, access)) throw invalidArgValue('access', "'read', 'write' or 'rw'", access);
    this.syncRaw(BigInt(phase | bits[access]));
  }
}

/** Where the kernel's own exporters are reached (absent where the kernel lacks them). */
export const UDMABUF_PATH = '/dev/udmabuf';
export const SYSTEM_HEAP_PATH = '/dev/dma_heap/system';

/** A dma-buf of another exporter, mapped as Device.map() maps (its length defaults to `size`). */
function foreignDmaBuf(fd: number, size: number): DmaBuf {
  return new DmaBuf(fd, (mapFdOf, o) =>
    mapFd(mapFdOf, o.length ?? size - (o.offset ?? 0), {
      offset: o.offset ?? 0,
      private: o.private ?? false,
      prot: o.prot ?? 'rw',
      populate: o.populate ?? false,
      ...(o.placement !== undefined ? { placement: o.placement } : {}),
    }),
  );
}

/**
 * A dma-buf made by udmabuf from a sealed memfd of `size` bytes (the
 * reference exporter of shmem pages). The memfd is returned too: writes to
 * it are the buffer's contents. Close both.
 */
export function udmabufOf(size: number): { buf: DmaBuf; memfd: number } {
  const sys = nativeConstants().sys;
  const memfd = native().memfdCreate('mmaplab-udmabuf', sys.MFD_CLOEXEC | sys.MFD_ALLOW_SEALING);
  let dev = -1;
  try {
    fs.ftruncateSync(memfd, size);
    native().addSeals(memfd, sys.F_SEAL_SHRINK);
    dev = native().open(UDMABUF_PATH, sys.O_RDWR | sys.O_CLOEXEC);
    // struct udmabuf_create { __u32 memfd, flags; __u64 offset, size; }
    const arg = new Uint8Array(24);
    const view = new DataView(arg.buffer);
    view.setUint32(0, memfd, true);
    view.setUint32(4, sys.UDMABUF_FLAGS_CLOEXEC, true);
    view.setBigUint64(8, 0n, true);
    view.setBigUint64(16, BigInt(size), true);
    const fd = native().ioctl(dev, sys.UDMABUF_CREATE, arg);
    return { buf: foreignDmaBuf(fd, size), memfd };
  } catch (err) {
    native().close(memfd);
    throw err;
  } finally {
    if (dev >= 0) native().close(dev);
  }
}

/** A dma-buf of `size` bytes from the DMA-BUF system heap (the reference exporter of plain pages), read-write. */
export function systemHeapBuffer(size: number): DmaBuf {
  const sys = nativeConstants().sys;
  const heap = native().open(SYSTEM_HEAP_PATH, sys.O_RDONLY | sys.O_CLOEXEC);
  try {
    // struct dma_heap_allocation_data { __u64 len; __u32 fd, fd_flags; __u64 heap_flags; }
    const arg = new Uint8Array(24);
    const view = new DataView(arg.buffer);
    view.setBigUint64(0, BigInt(size), true);
    view.setUint32(12, sys.O_RDWR | sys.O_CLOEXEC, true);
    native().ioctl(heap, sys.DMA_HEAP_IOCTL_ALLOC, arg);
    return foreignDmaBuf(view.getUint32(8, true), size);
  } finally {
    native().close(heap);
  }
}
