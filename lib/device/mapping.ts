/**
 * A mapping: exactly one ArrayBuffer over memory mmap'ed from a file.
 *
 * unmap() calls munmap(2) and detaches the buffer, so every view left behind
 * has length 0 instead of pointing at unmapped memory. A mapping dropped
 * without unmap() is unmapped when its buffer is garbage-collected. Do not
 * transfer the buffer (postMessage, structuredClone with transfer): the
 * mapping is only reachable through the buffer the addon returned.
 */
import { deviceError } from './errors';
import { native, nativeConstants } from './native';

/** 'r' = PROT_READ, 'rw' = PROT_READ | PROT_WRITE. */
export type Protection = 'r' | 'rw';

export interface MmapOptions {
  /** The mmap offset in bytes (a page multiple). Default 0. */
  offset?: number;
  /** Default 'rw'. */
  prot?: Protection;
  /** MAP_SHARED (true, the default) or MAP_PRIVATE (false). */
  shared?: boolean;
  /** MAP_POPULATE: fault every page in at mmap time. Default false. */
  populate?: boolean;
}

export interface MsyncOptions {
  /** MS_SYNC (the default: wait for writeback) or MS_ASYNC. */
  mode?: 'sync' | 'async';
  /** Add MS_INVALIDATE. */
  invalidate?: boolean;
}

export class Mapping {
  /** Bytes mapped. */
  readonly length: number;
  /** The mmap offset: byte offset of buffer[0] in the file / device buffer. */
  readonly offset: number;
  readonly prot: Protection;
  readonly shared: boolean;
  readonly #buffer: ArrayBuffer;

  /** @internal Use MmaplabDevice.mmap(). */
  constructor(buffer: ArrayBuffer, offset: number, prot: Protection, shared: boolean) {
    this.#buffer = buffer;
    this.length = buffer.byteLength;
    this.offset = offset;
    this.prot = prot;
    this.shared = shared;
  }

  /** The mapped memory; detached (byteLength 0) once unmapped. */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  get unmapped(): boolean {
    return this.#buffer.byteLength !== this.length;
  }

  /** munmap(2), then detach the buffer. A second call throws code 'EALREADY'. */
  unmap(): void {
    native().munmap(this.#buffer);
  }

  /** msync(2) of the whole mapping. Throws code 'EALREADY' once unmapped. */
  msync(options: MsyncOptions = {}): void {
    const sys = nativeConstants().sys;
    const mode = options.mode ?? 'sync';
    if (mode !== 'sync' && mode !== 'async') {
      throw deviceError('ERR_INVALID_ARG', `msync mode must be 'sync' or 'async', got ${String(mode)}`);
    }
    const flags = (mode === 'sync' ? sys.MS_SYNC : sys.MS_ASYNC) | (options.invalidate ? sys.MS_INVALIDATE : 0);
    native().msync(this.#buffer, flags);
  }
}

/** mmap(2) of `fd`. Length and offset are checked by the addon (TypeError). */
export function mapFd(fd: number, length: number, options: MmapOptions = {}): Mapping {
  const sys = nativeConstants().sys;
  const prot = options.prot ?? 'rw';
  if (prot !== 'r' && prot !== 'rw') {
    throw deviceError('ERR_INVALID_ARG', `prot must be 'r' or 'rw', got ${String(prot)}`);
  }
  const shared = options.shared ?? true;
  const offset = options.offset ?? 0;
  const protBits = prot === 'rw' ? sys.PROT_READ | sys.PROT_WRITE : sys.PROT_READ;
  const flags = (shared ? sys.MAP_SHARED : sys.MAP_PRIVATE) | (options.populate ? sys.MAP_POPULATE : 0);
  return new Mapping(native().mmap(fd, length, protBits, flags, offset), offset, prot, shared);
}
