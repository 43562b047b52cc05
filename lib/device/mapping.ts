/**
 * A mapping: exactly one ArrayBuffer over memory mmap'ed from a file (the
 * device, or any other: the addon's mmap works on every fd), or anonymous
 * memory (mapAnonymous).
 *
 * unmap() calls munmap(2) and detaches the buffer, so every view left behind
 * has length 0 instead of pointing at unmapped memory; a second unmap() does
 * nothing. A mapping dropped without unmap() is unmapped when its buffer is
 * garbage-collected. Calls that replace a mapping (unmapRange, remap, a
 * mapFd placed over it with MAP_FIXED) detach it and return new Mappings.
 * While msyncAsync() is in flight, unmap, unmapRange, remap, protect and a
 * MAP_FIXED over it fail with 'EBUSY' instead of racing it.
 *
 * Do not transfer the buffer (postMessage, structuredClone with transfer):
 * the mapping is only reachable through the buffer the addon returned.
 */
import * as os from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange, syscallError } from './errors';
import { native, nativeConstants, type SysConstantName } from './native';
import type { PatternMismatch } from './pattern';

/** 'none' = PROT_NONE, 'r' = PROT_READ, 'rw' = PROT_READ | PROT_WRITE. */
export type Protection = 'none' | 'r' | 'rw';

/**
 * Where mmap(2) puts a mapping.
 *
 * - 'kernel': wherever the kernel chooses (no address). The default.
 * - 'hint': `address` is a hint: the kernel maps there (page-aligned down)
 *   if the range is free, elsewhere otherwise. Any non-negative integer.
 * - 'fixed-noreplace': MAP_FIXED_NOREPLACE at `address` (a page multiple):
 *   exactly there, or 'EEXIST' when anything is mapped in the range.
 * - 'fixed': MAP_FIXED over the mapping `over`, `offset` bytes into it (a
 *   page multiple, default 0): the new mapping replaces that part of it,
 *   which must hold the whole new mapping (its length rounded up to a
 *   page). `over` is detached on success; what is left of it comes back as
 *   the new mapping's `remnants`. MAP_FIXED at an arbitrary address would
 *   replace whatever the process has there, so it is only offered over a
 *   mapping of this API.
 */
export type Placement =
  | { mode: 'kernel' }
  | { mode: 'hint'; address: number }
  | { mode: 'fixed-noreplace'; address: number }
  | { mode: 'fixed'; over: Mapping; offset?: number };

export const PLACEMENT_MODES: readonly Placement['mode'][] = ['kernel', 'hint', 'fixed-noreplace', 'fixed'];

export interface MmapOptions {
  /** The mmap offset in bytes (a page multiple). Default 0. */
  offset?: number;
  /** Where the mapping goes. Default { mode: 'kernel' }. */
  placement?: Placement;
  /** Default 'rw'. */
  prot?: Protection;
  /** MAP_PRIVATE instead of MAP_SHARED. Default false. */
  private?: boolean;
  /** MAP_POPULATE: fault every page in at mmap time. Default false. */
  populate?: boolean;
}

export interface MsyncOptions {
  /** MS_SYNC (the default: wait for writeback) or MS_ASYNC. */
  mode?: 'sync' | 'async';
  /** Add MS_INVALIDATE. */
  invalidate?: boolean;
  /** Byte offset of the range (a page multiple); default 0. */
  offset?: number;
  /** Bytes; default the rest of the mapping. */
  length?: number;
}

/** A byte range of a mapping: offset a page multiple, default the whole mapping. */
export interface RangeOptions {
  offset?: number;
  length?: number;
}

export type Advice =
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontneed'
  | 'dontfork'
  | 'dofork'
  | 'remove'
  | 'free'
  | 'cold'
  | 'pageout'
  | 'populate_read'
  | 'populate_write'
  | 'hugepage'
  | 'nohugepage'
  | 'wipeonfork'
  | 'keeponfork'
  | 'mergeable'
  | 'unmergeable'
  | 'collapse';

const ADVICE: Readonly<Record<Advice, SysConstantName>> = {
  normal: 'MADV_NORMAL',
  random: 'MADV_RANDOM',
  sequential: 'MADV_SEQUENTIAL',
  willneed: 'MADV_WILLNEED',
  dontneed: 'MADV_DONTNEED',
  dontfork: 'MADV_DONTFORK',
  dofork: 'MADV_DOFORK',
  remove: 'MADV_REMOVE',
  free: 'MADV_FREE',
  cold: 'MADV_COLD',
  pageout: 'MADV_PAGEOUT',
  populate_read: 'MADV_POPULATE_READ',
  populate_write: 'MADV_POPULATE_WRITE',
  hugepage: 'MADV_HUGEPAGE',
  nohugepage: 'MADV_NOHUGEPAGE',
  wipeonfork: 'MADV_WIPEONFORK',
  keeponfork: 'MADV_KEEPONFORK',
  mergeable: 'MADV_MERGEABLE',
  unmergeable: 'MADV_UNMERGEABLE',
  collapse: 'MADV_COLLAPSE',
};

/**
 * mremap(2) options: `mayMove` (default true), `to` (MREMAP_FIXED: move to
 * this page-aligned address, replacing what is there), `over` (MREMAP_FIXED
 * over that mapping, of the new length exactly, which is then unmapped
 * like any replaced mapping), `dontUnmap`
 * (MREMAP_DONTUNMAP: the old range stays mapped, without its entries; its
 * Mapping stays usable).
 */
export interface RemapOptions {
  mayMove?: boolean;
  to?: number;
  over?: Mapping;
  dontUnmap?: boolean;
}

/** How a forked child that wrote through the mapping ended. */
export interface ForkResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class Mapping {
  /** Bytes mapped. */
  readonly length: number;
  /** The mmap offset: byte offset of buffer[0] in the file / device buffer. */
  readonly offset: number;
  /** MAP_PRIVATE. */
  readonly private: boolean;
  /** The virtual address of buffer[0] in this process. */
  readonly address: number;
  /**
   * What is left of the mapping this one was placed over (placement
   * 'fixed'), before and after it, in address order; empty otherwise.
   */
  readonly remnants: readonly Mapping[];
  #prot: Protection;
  readonly #buffer: ArrayBuffer;

  /** @internal Use Device.map() or mapFd(). */
  constructor(buffer: ArrayBuffer, offset: number, prot: Protection, isPrivate: boolean, remnants: readonly Mapping[] = []) {
    this.#buffer = buffer;
    this.length = buffer.byteLength;
    this.offset = offset;
    this.#prot = prot;
    this.private = isPrivate;
    this.address = native().address(buffer);
    this.remnants = remnants;
  }

  /** The mapped memory; detached (byteLength 0) once unmapped. */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** The protection given at mmap time or by the last protect() of the whole mapping. */
  get prot(): Protection {
    return this.#prot;
  }

  get unmapped(): boolean {
    return this.#buffer.byteLength !== this.length;
  }

  /** munmap(2), then detach the buffer. A no-op once unmapped. */
  unmap(): void {
    native().munmap(this.#buffer);
  }

  [Symbol.dispose](): void {
    this.unmap();
  }

  /**
   * munmap(2) of part of the mapping. This Mapping is detached; the parts
   * before and after the hole come back as new Mappings (in address order).
   */
  unmapRange(range: { offset: number; length: number }): Mapping[] {
    const checked = checkRange(range, true);
    const offset = checked.offset ?? 0;
    const length = checked.length ?? 0;
    const rest = native().munmapRange(this.#buffer, offset, length);
    return rest.map((buf, i) => {
      const at = i === 0 && offset > 0 ? 0 : offset + length;
      return new Mapping(buf, this.offset + at, this.#prot, this.private);
    });
  }

  /**
   * mremap(2) to `length` bytes; may move unless `mayMove` is false. This
   * Mapping is detached and the new one returned; on failure (a VM_PFNMAP
   * or VM_DONTEXPAND mapping cannot grow) nothing changes.
   */
  remap(length: number, options: RemapOptions = {}): Mapping {
    checkCount('length', length, 1);
    const mayMove = options.mayMove ?? true;
    if (typeof mayMove !== 'boolean') throw invalidArgType('mayMove', 'of type boolean', mayMove);
    const dontUnmap = options.dontUnmap ?? false;
    if (typeof dontUnmap !== 'boolean') throw invalidArgType('dontUnmap', 'of type boolean', dontUnmap);
    if (options.to !== undefined && options.over !== undefined) throw invalidArgValue('to', 'absent when over is given', options.to);
    if (options.to !== undefined) checkAddress('to', options.to);
    if (options.over !== undefined && !(options.over instanceof Mapping)) throw invalidArgType('over', 'a Mapping', options.over);
    const target = options.over?.buffer ?? options.to;
    const buffer = native().mremap(this.#buffer, length, mayMove, target, dontUnmap);
    return new Mapping(buffer, this.offset, this.#prot, this.private);
  }

  /**
   * mlock2(2) of a range, default the whole mapping (`onFault`:
   * MLOCK_ONFAULT). The kernel leaves VM_SPECIAL mappings unlocked and
   * still answers 0; lockedInSmaps() tells.
   */
  lock(options: RangeOptions & { onFault?: boolean } = {}): void {
    const { offset, length } = checkRange(options, false);
    const flags = options.onFault === true ? nativeConstants().sys.MLOCK_ONFAULT : 0;
    native().mlock(this.#buffer, flags, offset, length);
  }

  /** munlock(2) of a range, default the whole mapping. */
  unlock(range: RangeOptions = {}): void {
    const { offset, length } = checkRange(range, false);
    native().munlock(this.#buffer, offset, length);
  }

  /** mprotect(2) of a range, default the whole mapping. */
  protect(prot: Protection, range: RangeOptions = {}): void {
    const { offset, length } = checkRange(range, false);
    native().mprotect(this.#buffer, protBits(prot), offset, length);
    if (offset === undefined && length === undefined) this.#prot = prot;
  }

  /** madvise(2) of a range, default the whole mapping. */
  advise(advice: Advice, range: RangeOptions = {}): void {
    if (typeof advice !== 'string' || !Object.hasOwn(ADVICE, advice)) {
      throw invalidArgValue('advice', `one of ${Object.keys(ADVICE).join(', ')}`, advice);
    }
    const { offset, length } = checkRange(range, false);
    native().madvise(this.#buffer, nativeConstants().sys[ADVICE[advice]], offset, length);
  }

  /** msync(2), blocking the thread. */
  msync(options: MsyncOptions = {}): void {
    const { offset, length } = checkRange(options, false);
    native().msync(this.#buffer, msyncFlags(options), offset, length);
  }

  /**
   * msync(2) on the thread pool; the mapping is busy (unmap: EBUSY) until it
   * settles. Every failure, bad arguments included, is a rejection.
   */
  async msyncAsync(options: MsyncOptions = {}): Promise<void> {
    const { offset, length } = checkRange(options, false);
    return native().msyncAsync(this.#buffer, msyncFlags(options), offset, length);
  }

  /** mincore(2): whether each page is resident. */
  residency(): boolean[] {
    return Array.from(native().mincore(this.#buffer), (b) => (b & 1) !== 0);
  }

  /** The number of resident pages (mincore(2)). */
  residentPages(): number {
    let n = 0;
    for (const b of native().mincore(this.#buffer)) n += b & 1;
    return n;
  }

  /**
   * Touches every page (reads its first byte, or writes it back unchanged)
   * in native code. `progress[0]` holds the page being touched, so a
   * process killed on the way tells which page it reached.
   */
  touch(mode: 'read' | 'write', progress?: Int32Array): number {
    if (mode !== 'read' && mode !== 'write') throw invalidArgValue('mode', "'read' or 'write'", mode);
    return native().touch(this.#buffer, mode === 'write', progress);
  }

  /**
   * Reads the whole mapping front to back `passes` times (default 1) in
   * native code: a sequential-read sweep to time. Returns a checksum of
   * the bytes read (only there so that the reads cannot be optimised away).
   */
  readAll(passes = 1): number {
    return native().readAll(this.#buffer, checkPasses(passes));
  }

  /** Sets every byte of the mapping to `byte`, front to back, `passes` times (default 1), in native code. */
  fill(byte: number, passes = 1): void {
    if (typeof byte !== 'number') throw invalidArgType('byte', 'of type number', byte);
    if (!Number.isInteger(byte) || byte < 0 || byte > 255) throw outOfRange('byte', 'an integer in [0, 255]', byte);
    native().fillAll(this.#buffer, byte, checkPasses(passes));
  }

  /** Writes the device pattern for `seed`, in the device buffer's coordinates. */
  writePattern(seed: number, progress?: Int32Array): void {
    native().patternWrite(this.#buffer, checkSeed(seed), this.#firstWord(), progress);
  }

  /** The first word that breaks the device pattern for `seed`, or null. */
  checkPattern(seed: number, progress?: Int32Array): PatternMismatch | null {
    return native().patternCheck(this.#buffer, checkSeed(seed), this.#firstWord(), progress);
  }

  /**
   * fork(2); the child writes the pattern for `seed` through the mapping it
   * inherited and exits. Shared mappings show the child's writes to the
   * parent (and the kernel); private ones must not.
   */
  forkWrite(seed: number): ForkResult {
    const r = native().forkWrite(this.#buffer, checkSeed(seed), this.#firstWord());
    return { exitCode: r.exitCode, signal: r.signal === null ? null : signalName(r.signal) };
  }

  #firstWord(): number {
    return this.offset / 4;
  }
}

/**
 * mmap(2) of `fd`, placed as `options.placement` says. Length, offset and
 * placement are checked before the call (TypeError, RangeError).
 */
export function mapFd(fd: number, length: number, options: MmapOptions = {}): Mapping {
  const sys = nativeConstants().sys;
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const prot = options.prot ?? 'rw';
  const isPrivate = options.private ?? false;
  if (typeof isPrivate !== 'boolean') throw invalidArgType('private', 'of type boolean', isPrivate);
  const populate = options.populate ?? false;
  if (typeof populate !== 'boolean') throw invalidArgType('populate', 'of type boolean', populate);
  const offset = options.offset ?? 0;
  checkCount('length', length, 1);
  checkCount('offset', offset, 0);
  if (offset % nativeConstants().PAGE_SIZE !== 0) {
    throw outOfRange('offset', `a multiple of the page size (${nativeConstants().PAGE_SIZE})`, offset);
  }
  const placement = checkPlacement(options.placement === undefined ? { mode: 'kernel' } : options.placement, length);
  const flags = (isPrivate ? sys.MAP_PRIVATE : sys.MAP_SHARED) | (populate ? sys.MAP_POPULATE : 0);
  const bits = protBits(prot);
  switch (placement.mode) {
    case 'kernel':
      return new Mapping(native().mmap(fd, length, bits, flags, offset), offset, prot, isPrivate);
    case 'hint':
      return new Mapping(native().mmap(fd, length, bits, flags, offset, placement.address), offset, prot, isPrivate);
    case 'fixed-noreplace': {
      const map = new Mapping(
        native().mmap(fd, length, bits, flags | sys.MAP_FIXED_NOREPLACE, offset, placement.address),
        offset,
        prot,
        isPrivate,
      );
      // A kernel older than 4.17 takes the flag for a hint: elsewhere is "occupied".
      if (map.address === placement.address) return map;
      map.unmap();
      throw syscallError('EEXIST', 'mmap', 'the kernel placed the mapping elsewhere (MAP_FIXED_NOREPLACE unknown to it)');
    }
    case 'fixed': {
      const over = placement.over;
      const at = placement.offset ?? 0;
      const parts = native().mmapOver(over.buffer, at, length, fd, bits, flags, offset);
      const span = Math.ceil(length / nativeConstants().PAGE_SIZE) * nativeConstants().PAGE_SIZE;
      const remnants = [
        ...(parts.before ? [new Mapping(parts.before, over.offset, over.prot, over.private)] : []),
        ...(parts.after ? [new Mapping(parts.after, over.offset + at + span, over.prot, over.private)] : []),
      ];
      return new Mapping(parts.mapped, offset, prot, isPrivate, remnants);
    }
  }
}

/** The placement, checked against the mapping's length. */
function checkPlacement(placement: Placement, length: number): Placement {
  if (typeof placement !== 'object' || placement === null) throw invalidArgType('placement', 'an object', placement);
  const page = nativeConstants().PAGE_SIZE;
  switch (placement.mode) {
    case 'kernel':
      return placement;
    case 'hint':
      checkCount('placement.address', placement.address, 0);
      return placement;
    case 'fixed-noreplace':
      checkCount('placement.address', placement.address, 1);
      if (placement.address % page !== 0) {
        throw outOfRange('placement.address', `a multiple of the page size (${page})`, placement.address);
      }
      return placement;
    case 'fixed': {
      if (!(placement.over instanceof Mapping)) throw invalidArgType('placement.over', 'a Mapping', placement.over);
      const at = placement.offset ?? 0;
      checkCount('placement.offset', at, 0);
      if (at % page !== 0) throw outOfRange('placement.offset', `a multiple of the page size (${page})`, at);
      const span = Math.ceil(placement.over.length / page) * page;
      if (at >= placement.over.length) {
        throw outOfRange('placement.offset', `below the length of the mapping it goes over (${placement.over.length})`, at);
      }
      if (length > span - at) {
        throw outOfRange('length', `at most ${span - at} (the pages of the mapping it goes over, from placement.offset)`, length);
      }
      return placement;
    }
    default:
      throw invalidArgValue('placement.mode', `one of ${PLACEMENT_MODES.join(', ')}`, (placement as { mode?: unknown }).mode);
  }
}

/**
 * An address where `length` bytes starting at a multiple of `align` (a
 * power of two, at least a page) are free right now: a hint for 'hint' or
 * 'fixed-noreplace' placements. It reserves length + align bytes of
 * PROT_NONE address space, takes the aligned point inside and gives the
 * reservation back, so another thread of the process may still take the
 * range first: check Mapping.address.
 */
export function freeAddress(length: number, align: number): number {
  const sys = nativeConstants().sys;
  const page = nativeConstants().PAGE_SIZE;
  checkCount('length', length, 1);
  checkCount('align', align, page);
  if (!Number.isInteger(Math.log2(align))) {
    throw outOfRange('align', 'a power of two', align);
  }
  const reservation = native().mmap(-1, length + align, sys.PROT_NONE, sys.MAP_PRIVATE | sys.MAP_ANONYMOUS, 0);
  const start = native().address(reservation);
  native().munmap(reservation);
  return Math.ceil(start / align) * align;
}

/**
 * An anonymous MAP_SHARED mapping (shmem behind it, as a driver's shared
 * buffer would be), read-write: the baseline the device's methods are
 * compared with. `populate` adds MAP_POPULATE.
 */
export function mapAnonymous(length: number, options: { populate?: boolean } = {}): Mapping {
  const sys = nativeConstants().sys;
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const populate = options.populate ?? false;
  if (typeof populate !== 'boolean') throw invalidArgType('populate', 'of type boolean', populate);
  checkCount('length', length, 1);
  const flags = sys.MAP_SHARED | sys.MAP_ANONYMOUS | (populate ? sys.MAP_POPULATE : 0);
  return new Mapping(native().mmap(-1, length, protBits('rw'), flags, 0), 0, 'rw', false);
}

function protBits(prot: Protection): number {
  const sys = nativeConstants().sys;
  switch (prot) {
    case 'none':
      return sys.PROT_NONE;
    case 'r':
      return sys.PROT_READ;
    case 'rw':
      return sys.PROT_READ | sys.PROT_WRITE;
    default:
      throw invalidArgValue('prot', "'none', 'r' or 'rw'", prot);
  }
}

function msyncFlags(options: MsyncOptions): number {
  const sys = nativeConstants().sys;
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const mode = options.mode ?? 'sync';
  if (mode !== 'sync' && mode !== 'async') throw invalidArgValue('mode', "'sync' or 'async'", mode);
  const invalidate = options.invalidate ?? false;
  if (typeof invalidate !== 'boolean') throw invalidArgType('invalidate', 'of type boolean', invalidate);
  return (mode === 'sync' ? sys.MS_SYNC : sys.MS_ASYNC) | (invalidate ? sys.MS_INVALIDATE : 0);
}

function checkAddress(name: string, value: unknown): asserts value is number {
  checkCount(name, value, 1);
  const page = nativeConstants().PAGE_SIZE;
  if (value % page !== 0) throw outOfRange(name, `a multiple of the page size (${page})`, value);
}

function checkCount(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < min) throw outOfRange(name, `an integer >= ${min}`, value);
}

/** Checks the types and page alignment; the addon checks the bounds. */
function checkRange<R extends RangeOptions>(range: R, required: boolean): { offset: number | undefined; length: number | undefined } {
  if (typeof range !== 'object' || range === null) throw invalidArgType('range', 'an object', range);
  const { offset, length } = range;
  if (offset !== undefined || required) {
    checkCount('offset', offset, 0);
    const page = nativeConstants().PAGE_SIZE;
    if (offset % page !== 0) throw outOfRange('offset', `a multiple of the page size (${page})`, offset);
  }
  if (length !== undefined || required) checkCount('length', length, 1);
  return { offset, length };
}

function checkPasses(passes: number): number {
  if (typeof passes !== 'number') throw invalidArgType('passes', 'of type number', passes);
  if (!Number.isInteger(passes) || passes < 0 || passes > 0xffff_ffff) throw outOfRange('passes', 'an integer in [0, 2^32)', passes);
  return passes;
}

function checkSeed(seed: number): number {
  if (typeof seed !== 'number') throw invalidArgType('seed', 'of type number', seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw outOfRange('seed', 'an integer in [0, 2^32)', seed);
  return seed;
}

function signalName(signal: number): NodeJS.Signals {
  const found = Object.entries(os.constants.signals).find(([, n]) => n === signal);
  return (found?.[0] ?? `SIG${signal}`) as NodeJS.Signals;
}
