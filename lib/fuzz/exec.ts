/**
 * Running fuzz operations against the real device: the sessions and
 * mappings that exist right now, in slots (ops.ts), and one outcome per
 * operation.
 *
 * Everything reaches the kernel through the raw paths where the device API
 * would check in JavaScript first: CONFIGURE is configureRaw() (any numbers,
 * never the API's `hazards` flag: a hazard pair goes to the module as it is,
 * and the module must refuse it), reserved fields and unknown requests are
 * plain ioctls. Memory is only ever touched by a forked child
 * (native forkTouch), so a SIGBUS or SIGSEGV is an outcome, not the end of
 * the fuzzer; read(2) and write(2) may use a mapping as their buffer, which
 * only the kernel touches (a bad page is EFAULT there, not a signal).
 *
 * Outcomes: 'ok', the errno's name ('EINVAL', 'EPERM', 'ENODEV', ...), the
 * signal that killed a touching child ('SIGBUS'), 'exit:N', 'skip' (the slot
 * was empty), and 'violation': the module accepted something it must
 * refuse with allow_hazards=0 (a hazard configuration, FREE_WHILE_MAPPED). An error
 * that is none of these is a bug of the fuzzer and is thrown.
 *
 * The -async operations start their call on the thread pool and answer
 * 'started'; how the call ended reaches `onSettled` later ('ok', an errno).
 * An operation that would collide with one still running in JavaScript
 * (closing its session, unmapping, moving or reprotecting its mapping: the
 * device API refuses those while the call is in flight) waits for it first,
 * so the slots end up the same whatever the timing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { DEFAULT_DEVICE_PATH, Device, type MapOptions, MAX_PAGE_INFO, failureReason } from '../device/device';
import type { DmaBuf } from '../device/dmabuf';
import { isSyscallError } from '../device/errors';
import { DEVICE_DMA_LAYOUT, DMABUF_LAYOUT, encode, FILL_LAYOUT, IOC_MAGIC, ioc, REQUESTS, SHMEM_PIN_LAYOUT, STORE_LAYOUT, VERIFY_LAYOUT } from '../device/layout';
import { freeAddress, type Mapping } from '../device/mapping';
import { native, nativeConstants } from '../device/native';
import { storeRequest } from '../device/store';
import { MmaplabError } from '../util/errors';
import { type FuzzOp, isHazardConfigure, MAP_SLOTS, SESSION_SLOTS, type TouchMode } from './ops';

type MmapOp = Extract<FuzzOp, { op: 'mmap' }>;

export interface Outcome {
  /** 'ok', an errno name, a signal name, 'exit:N', 'skip' or 'violation'. */
  readonly result: string;
  /** What the module said (LAST_ERROR), the page a child died on, what was violated. */
  readonly detail?: string;
}

const OK: Outcome = { result: 'ok' };

/**
 * Why a touch can find fork() failing with plenty of memory free: the
 * kernel refuses to fork a process that holds a private (COW) VM_PAT pfnmap,
 * a whole-buffer remap_pfn_range mapped MAP_PRIVATE, once the page at its
 * start has been written (copied to an anonymous page): track_pfn_copy()
 * then cannot tell the cache mode of the original pfn and fails with
 * EINVAL, which dup_mm() reports as ENOMEM (get_pat_info(),
 * arch/x86/mm/pat/memtype.c, 6.1 and 6.12). It lasts until that mapping is
 * gone.
 */
export const FORK_FAILED = 'fork() of the fuzzer failed (a written private whole-buffer remap_pfn_range mapping blocks fork)';
const SKIP: Outcome = { result: 'skip' };
/** The largest buffer DEVICE_DMA is sent for: the emulated device takes 0.4 s a page. */
const DEVICE_DMA_MAX_PAGES = 2;
const TOUCH_MODE: Readonly<Record<TouchMode, 0 | 1 | 2>> = { read: 0, write: 1, pattern: 2 };

function signalName(signal: number): string {
  const found = Object.entries(os.constants.signals).find(([, n]) => n === signal);
  return found?.[0] ?? `SIG${signal}`;
}

/** A call running on the thread pool, and what it holds. */
interface Background {
  readonly done: Promise<void>;
  readonly device: Device | null;
  readonly mapping: Mapping | null;
}

/** The sessions and mappings of one fuzz run, by slot. */
export class FuzzTarget {
  readonly devicePath: string;
  readonly sessions: (Device | null)[] = Array.from({ length: SESSION_SLOTS }, () => null);
  readonly maps: (Mapping | null)[] = Array.from({ length: MAP_SLOTS }, () => null);
  /** Each session slot's latest dma-buf descriptor (it outlives the session's own). */
  readonly dmabufs: (DmaBuf | null)[] = Array.from({ length: SESSION_SLOTS }, () => null);
  readonly #page: number;
  readonly #background = new Set<Background>();
  readonly #onSettled: (op: FuzzOp, outcome: Outcome) => void;
  /** A background call that failed in a way no system call does: a bug of the fuzzer, thrown by settle(). */
  #bug: MmaplabError | null = null;

  /** `onSettled` hears how each -async operation's call ended. */
  constructor(devicePath: string = DEFAULT_DEVICE_PATH, onSettled: (op: FuzzOp, outcome: Outcome) => void = () => undefined) {
    this.devicePath = devicePath;
    this.#page = nativeConstants().PAGE_SIZE;
    this.#onSettled = onSettled;
  }

  /** Calls still running on the thread pool. */
  get running(): number {
    return this.#background.size;
  }

  /** Runs one operation; a refusal is an outcome, only a bug of the fuzzer throws. */
  async run(op: FuzzOp): Promise<Outcome> {
    await this.#settleFor(op);
    return this.runNow(op);
  }

  /**
   * run() without waiting for background calls first: for operations that
   * collide with none (the tests use it to stay synchronous).
   */
  runNow(op: FuzzOp): Outcome {
    try {
      return this.#run(op);
    } catch (err) {
      if (isSyscallError(err)) {
        // A touch whose fork() fails is not the device's answer: keep it apart (see FORK_FAILED).
        if (op.op === 'touch' && err.syscall === 'fork') return { result: `fork:${err.code}`, detail: FORK_FAILED };
        const why = failureReason(err);
        return { result: err.code, detail: why !== undefined ? why.text : err.syscall };
      }
      throw err;
    }
  }

  /** Waits for every background call. */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background].map((b) => b.done));
    if (this.#bug !== null) throw this.#bug;
  }

  /** Waits for the background calls `op` would collide with. */
  async #settleFor(op: FuzzOp): Promise<void> {
    if (this.#background.size === 0) return;
    let device: Device | null = null;
    let mapping: Mapping | null = null;
    switch (op.op) {
      case 'open':
      case 'close':
        device = this.sessions[op.s] ?? null;
        break;
      case 'mmap':
        mapping = this.maps[op.m] ?? null;
        // MAP_FIXED replaces part of the mapping it goes over.
        if (op.place?.at === 'fixed') {
          const over = this.maps[op.place.over] ?? null;
          const waits = [...this.#background].filter((b) => b.mapping !== null && (b.mapping === mapping || b.mapping === over));
          await Promise.all(waits.map((b) => b.done));
          return;
        }
        break;
      case 'munmap':
      case 'munmap-range':
      case 'mremap':
      case 'mprotect':
      case 'mmap-dmabuf':
        mapping = this.maps[op.m] ?? null;
        break;
      default:
        return;
    }
    const waits = [...this.#background].filter((b) => (device !== null && b.device === device) || (mapping !== null && b.mapping === mapping));
    await Promise.all(waits.map((b) => b.done));
  }

  /** Starts `call` in the background; its ending goes to onSettled. */
  #start(op: FuzzOp, call: Promise<unknown>, device: Device | null, mapping: Mapping | null): Outcome {
    const entry: Background = {
      device,
      mapping,
      // Never rejects: a refusal is an outcome, anything else is kept for settle() to throw.
      done: call
        .then(
          () => this.#onSettled(op, OK),
          (err: unknown) => {
            if (isSyscallError(err)) this.#onSettled(op, { result: err.code, detail: err.syscall });
            else this.#bug ??= fuzzerBug(op, err);
          },
        )
        .finally(() => this.#background.delete(entry)),
    };
    this.#background.add(entry);
    return { result: 'started' };
  }

  /** Waits for the background calls, then unmaps every mapping and closes every session (the end of a run). */
  async closeAll(): Promise<void> {
    await this.settle();
    for (let m = 0; m < MAP_SLOTS; m++) this.#dropMap(m);
    for (let s = 0; s < SESSION_SLOTS; s++) {
      this.dmabufs[s]?.close();
      this.dmabufs[s] = null;
      this.sessions[s]?.close();
      this.sessions[s] = null;
    }
  }

  #session(s: number): Device | null {
    return this.sessions[s] ?? null;
  }

  #map(m: number): Mapping | null {
    const map = this.maps[m] ?? null;
    if (map !== null && map.unmapped) {
      this.maps[m] = null;
      return null;
    }
    return map;
  }

  #dropMap(m: number): void {
    const map = this.maps[m];
    this.maps[m] = null;
    if (map && !map.unmapped) map.unmap();
  }

  /** Pages of a mapping, rounded up (its length need not be a page multiple). */
  #pagesOf(map: Mapping): number {
    return Math.max(1, Math.ceil(map.length / this.#page));
  }

  /** [page, page + pages) of `map` as a byte range inside it; pages 0 (or an empty range) is all of it. */
  #range(map: Mapping, page: number, pages: number): { offset: number; length: number } | null {
    if (pages === 0) return null;
    const n = this.#pagesOf(map);
    const first = page % n;
    const offset = first * this.#page;
    return { offset, length: Math.min(pages * this.#page, map.length - offset) };
  }

  /** The first slot other than `not` that holds no live mapping, or -1. */
  #freeSlot(not: number): number {
    return this.maps.findIndex((x, i) => i !== not && (x === null || x.unmapped));
  }

  /** Puts a mapping in a free slot (other than `not`), or unmaps it when there is none. */
  #keep(map: Mapping, not: number): void {
    const free = this.#freeSlot(not);
    if (free >= 0) this.maps[free] = map;
    else map.unmap();
  }

  /** The mmap operation, placed as op.place says (ops.ts, MapPlace). */
  #mmap(op: MmapOp): Outcome {
    const dev = this.#session(op.s);
    if (dev === null) return SKIP;
    const options: MapOptions = { offset: op.offset, length: op.length, prot: op.prot, private: op.private, populate: op.populate };
    const place = op.place;
    if (place === undefined) {
      this.#dropMap(op.m);
      this.maps[op.m] = dev.map(options);
      return OK;
    }
    if (place.at === 'hint' || place.at === 'noreplace') {
      this.#dropMap(op.m);
      const address = freeAddress(op.length, place.align);
      const mode = place.at === 'hint' ? 'hint' : 'fixed-noreplace';
      this.maps[op.m] = dev.map({ ...options, placement: { mode, address } });
      return OK;
    }
    const over = this.#map(place.over);
    if (over === null) return SKIP;
    const pages = this.#pagesOf(over);
    const at = (place.page % pages) * this.#page;
    if (place.at !== 'fixed') {
      const address = over.address + at;
      this.#dropMap(op.m);
      const mode = place.at === 'hint-over' ? 'hint' : 'fixed-noreplace';
      this.maps[op.m] = dev.map({ ...options, placement: { mode, address } });
      return OK;
    }
    if (op.m !== place.over) this.#dropMap(op.m);
    const length = Math.min(op.length, pages * this.#page - at);
    const map = dev.map({ ...options, length, placement: { mode: 'fixed', over, offset: at } });
    const before = map.remnants.find((r) => r.address < map.address) ?? null;
    const after = map.remnants.find((r) => r.address > map.address) ?? null;
    this.maps[op.m] = map;
    if (op.m !== place.over) this.maps[place.over] = before;
    else if (before !== null) this.#keep(before, op.m);
    if (after !== null) this.#keep(after, op.m);
    return OK;
  }

  #run(op: FuzzOp): Outcome {
    switch (op.op) {
      case 'open': {
        this.sessions[op.s]?.close();
        this.sessions[op.s] = null;
        this.sessions[op.s] = Device.open(this.devicePath, { access: op.access });
        return OK;
      }
      case 'close': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        this.sessions[op.s] = null;
        dev.close();
        return OK;
      }
      case 'configure': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.configureRaw({
          alloc: op.alloc,
          method: op.method,
          size: BigInt(op.size),
          flags: op.flags,
          cache: op.cache,
          delay_ms: op.delayMs,
          period_ms: op.periodMs,
        });
        if (isHazardConfigure(op)) {
          return {
            result: 'violation',
            detail: `CONFIGURE accepted a hazard: alloc ${op.alloc} + method ${op.method}, flags 0x${op.flags.toString(16)}`,
          };
        }
        return OK;
      }
      case 'mmap':
        return this.#mmap(op);
      case 'touch': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        const n = this.#pagesOf(map);
        const first = op.page % n;
        const offset = first * this.#page;
        const length = Math.min(Math.max(1, Math.min(op.pages, n - first)) * this.#page, map.length - offset);
        const firstWord = ((map.offset + offset) / 4) >>> 0;
        const r = native().forkTouch(map.buffer, offset, length, TOUCH_MODE[op.mode], op.seed, firstWord);
        const where = r.page === null ? undefined : `page ${first + r.page} of the mapping`;
        if (r.signal !== null) return { result: signalName(r.signal), ...(where ? { detail: where } : {}) };
        return r.exitCode === 0 ? OK : { result: `exit:${r.exitCode ?? '?'}` };
      }
      case 'munmap': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        this.maps[op.m] = null;
        map.unmap();
        return OK;
      }
      case 'munmap-range': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        const range = this.#range(map, op.page, Math.max(1, op.pages)) as { offset: number; length: number };
        if (range.offset === 0 && range.length >= map.length) {
          this.maps[op.m] = null;
          map.unmap();
          return OK;
        }
        const parts = map.unmapRange(range);
        this.maps[op.m] = parts[0] ?? null;
        const rest = parts[1];
        if (rest !== undefined) {
          const free = this.maps.findIndex((x, i) => i !== op.m && (x === null || x.unmapped));
          if (free >= 0) this.maps[free] = rest;
          else rest.unmap();
        }
        return OK;
      }
      case 'mremap': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        this.maps[op.m] = map.remap(Math.max(1, op.length), { mayMove: op.mayMove });
        return OK;
      }
      case 'mprotect': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        map.protect(op.prot, this.#range(map, op.page, op.pages) ?? {});
        return OK;
      }
      case 'madvise': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        map.advise(op.advice, this.#range(map, op.page, op.pages) ?? {});
        return OK;
      }
      case 'msync': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        map.msync({ mode: op.mode, invalidate: op.invalidate });
        return OK;
      }
      case 'mincore': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        map.residency();
        return OK;
      }
      case 'msync-async': {
        const map = this.#map(op.m);
        if (map === null) return SKIP;
        return this.#start(op, map.msyncAsync({ mode: op.mode }), null, map);
      }
      case 'fill-async': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        return this.#start(op, dev.fillAsync(op.seed), dev, null);
      }
      case 'verify-async': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        return this.#start(op, dev.verifyAsync(op.seed), dev, null);
      }
      case 'read':
      case 'write': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        const via = op.op === 'read' ? op.into : op.from;
        let view: Uint8Array;
        if (via === null) {
          view = Buffer.alloc(op.length, 0x5a);
        } else {
          const map = this.#map(via);
          if (map === null) return SKIP;
          // Only the kernel touches this memory: a page it cannot use is EFAULT, never a signal.
          view = new Uint8Array(map.buffer, 0, Math.min(op.length, map.length));
        }
        if (op.op === 'read') fs.readSync(dev.fd, view, 0, view.byteLength, op.position);
        else fs.writeSync(dev.fd, view, 0, view.byteLength, op.position);
        return OK;
      }
      case 'fill': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        if (op.reserved === 0) dev.fill(op.seed);
        else native().ioctl(dev.fd, REQUESTS.FILL, encode(FILL_LAYOUT, { seed: op.seed, reserved: op.reserved }));
        return OK;
      }
      case 'verify': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        if (op.reserved === 0) dev.verify(op.seed);
        else {
          const v = { seed: op.seed, reserved: op.reserved, mismatch: 0n, expected: 0, found: 0 };
          native().ioctl(dev.fd, REQUESTS.VERIFY, encode(VERIFY_LAYOUT, v));
        }
        return OK;
      }
      case 'stats': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.stats();
        return OK;
      }
      case 'info': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.info({ pages: op.pages === 'all' ? true : Math.min(op.pages, MAX_PAGE_INFO) });
        return OK;
      }
      case 'last-error': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.lastError();
        return OK;
      }
      case 'flush': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.flush();
        return OK;
      }
      case 'shmem-pin': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        if (op.pin === 0) dev.unpinPages();
        else if (op.pin === 1) dev.pinPages();
        else {
          native().ioctl(dev.fd, REQUESTS.SHMEM_PIN, encode(SHMEM_PIN_LAYOUT, { pin: op.pin, reserved: 0, from_swap: 0n }));
          // 2 is the hazard (unpin without marking dirty): allow_hazards=0 must refuse it.
          if (op.pin === 2) return { result: 'violation', detail: 'SHMEM_PIN 2 (unpin without marking dirty) was accepted' };
        }
        return OK;
      }
      case 'device-dma': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        // A session INFO refuses (nothing configured) is sent as is: the module must refuse it too.
        let size = 0n;
        try {
          size = dev.info().size;
        } catch {
          size = 0n;
        }
        if (size > BigInt(DEVICE_DMA_MAX_PAGES * this.#page)) return SKIP;
        native().ioctl(
          dev.fd,
          REQUESTS.DEVICE_DMA,
          encode(DEVICE_DMA_LAYOUT, {
            direction: op.direction,
            seed: 1,
            mismatch: 0n,
            expected: 0,
            found: 0,
            transfers: 0n,
            segments: 0,
            reserved: op.reserved,
          }),
        );
        if (op.reserved !== 0 || (op.direction !== 1 && op.direction !== 2)) {
          return { result: 'violation', detail: `DEVICE_DMA accepted direction ${op.direction} reserved ${op.reserved}` };
        }
        return OK;
      }
      case 'dmabuf': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        if (op.action === 'query') {
          dev.dmaBufState();
        } else if (op.action === 'bad-op' || op.action === 'bad-reserved') {
          // op EXPORT + 1, or QUERY with a reserved bit: both must be refused.
          const bad = op.action === 'bad-op' ? { op: 2, reserved: 0 } : { op: 0, reserved: 1 };
          native().ioctl(dev.fd, REQUESTS.DMABUF, encode(DMABUF_LAYOUT, { ...bad, fd: -1, cpu_begin: 0n, cpu_end: 0n, alive: 0 }));
          return { result: 'violation', detail: `DMABUF accepted op ${bad.op} reserved ${bad.reserved}` };
        } else {
          const buf = dev.exportDmaBuf();
          this.dmabufs[op.s]?.close();
          this.dmabufs[op.s] = buf;
        }
        return OK;
      }
      case 'dmabuf-close': {
        const buf = this.dmabufs[op.s] ?? null;
        if (buf === null) return SKIP;
        this.dmabufs[op.s] = null;
        buf.close();
        return OK;
      }
      case 'dmabuf-sync': {
        const buf = this.dmabufs[op.s] ?? null;
        if (buf === null) return SKIP;
        buf.syncRaw(BigInt(op.flags));
        return OK;
      }
      case 'mmap-dmabuf': {
        const buf = this.dmabufs[op.s] ?? null;
        if (buf === null) return SKIP;
        this.#dropMap(op.m);
        this.maps[op.m] = buf.map({ offset: op.offset, length: op.length, prot: op.prot, private: op.private });
        return OK;
      }
      case 'fsync': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.fsync(op.dataOnly);
        return OK;
      }
      case 'store': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        const id = BigInt(op.id);
        if (op.reserved === 0) dev.store({ id, data: op.dataLen === 0 ? false : op.dataLen, pages: op.pages });
        else native().ioctl(dev.fd, REQUESTS.STORE, encode(STORE_LAYOUT, { ...storeRequest(id), reserved: op.reserved }));
        return OK;
      }
      case 'free-while-mapped': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        dev.freeWhileMapped();
        return { result: 'violation', detail: 'FREE_WHILE_MAPPED was accepted' };
      }
      case 'ioctl': {
        const dev = this.#session(op.s);
        if (dev === null) return SKIP;
        const request = ioc(op.dir & 3, IOC_MAGIC, op.nr & 0xff, op.dir === 0 ? 0 : op.size & 0x3fff);
        if (op.dir === 0) {
          native().ioctlNoArg(dev.fd, request);
          if (request === REQUESTS.FREE_WHILE_MAPPED) return { result: 'violation', detail: 'FREE_WHILE_MAPPED was accepted' };
        } else {
          native().ioctl(dev.fd, request, new Uint8Array(Math.max(1, op.size & 0x3fff)));
        }
        return OK;
      }
    }
  }
}

/** A fuzzer bug surfaced while running an operation (not a kernel outcome). */
export function fuzzerBug(op: FuzzOp, err: unknown): MmaplabError {
  const what = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return new MmaplabError('EFUZZBUG', `the fuzzer failed to run ${JSON.stringify(op)}: ${what}`);
}
