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
import {
  DEVICE_DMA_LAYOUT,
  DMABUF_LAYOUT,
  encode,
  FILL_LAYOUT,
  IOC_MAGIC,
  ioc,
  REQUESTS,
  SHMEM_PIN_LAYOUT,
  STORE_LAYOUT,
  VERIFY_LAYOUT,
} from '../device/layout';
import { freeAddress, type Mapping } from '../device/mapping';
import { native, nativeConstants } from '../device/native';
import { storeRequest } from '../device/store';
import { MmaplabError } from '../util/errors';
import { type FuzzOp, type FuzzOpName, isHazardConfigure, MAP_SLOTS, type MapPlace, SESSION_SLOTS, type TouchMode } from './ops';

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

/** Starts a call on the thread pool for `op`; its ending is heard later. */
type StartBackground = (op: FuzzOp, call: Promise<unknown>, device: Device | null, mapping: Mapping | null) => Outcome;

/** The sessions, mappings and dma-bufs of one run, by slot, and what the operation handlers do with them. */
class Slots {
  readonly sessions: (Device | null)[] = Array.from({ length: SESSION_SLOTS }, () => null);
  readonly maps: (Mapping | null)[] = Array.from({ length: MAP_SLOTS }, () => null);
  /** Each session slot's latest dma-buf descriptor (it outlives the session's own). */
  readonly dmabufs: (DmaBuf | null)[] = Array.from({ length: SESSION_SLOTS }, () => null);
  readonly devicePath: string;
  readonly page: number;
  readonly start: StartBackground;

  constructor(devicePath: string, page: number, start: StartBackground) {
    this.devicePath = devicePath;
    this.page = page;
    this.start = start;
  }

  session(s: number): Device | null {
    return this.sessions[s] ?? null;
  }

  /** The live mapping in slot m; a slot whose mapping went away meanwhile is emptied. */
  map(m: number): Mapping | null {
    const map = this.maps[m] ?? null;
    if (map !== null && map.unmapped) {
      this.maps[m] = null;
      return null;
    }
    return map;
  }

  dmabuf(s: number): DmaBuf | null {
    return this.dmabufs[s] ?? null;
  }

  dropMap(m: number): void {
    const map = this.maps[m];
    this.maps[m] = null;
    if (map && !map.unmapped) map.unmap();
  }

  /** Pages of a mapping, rounded up (its length need not be a page multiple). */
  pagesOf(map: Mapping): number {
    return Math.max(1, Math.ceil(map.length / this.page));
  }

  /** [page, page + pages) of `map` as a byte range inside it; pages 0 (or an empty range) is all of it. */
  range(map: Mapping, page: number, pages: number): { offset: number; length: number } | null {
    if (pages === 0) return null;
    const n = this.pagesOf(map);
    const first = page % n;
    const offset = first * this.page;
    return { offset, length: Math.min(pages * this.page, map.length - offset) };
  }

  /** The first slot other than `not` that holds no live mapping, or -1. */
  freeSlot(not: number): number {
    return this.maps.findIndex((x, i) => i !== not && (x === null || x.unmapped));
  }

  /** Puts a mapping in a free slot (other than `not`), or unmaps it when there is none. */
  keep(map: Mapping, not: number): void {
    const free = this.freeSlot(not);
    if (free >= 0) this.maps[free] = map;
    else map.unmap();
  }
}

type OpOf<K extends FuzzOpName> = Extract<FuzzOp, { op: K }>;
type OpByName = { [K in FuzzOpName]: OpOf<K> };
type Handler<O> = (slots: Slots, op: O) => Outcome;
/** A handler for every operation: one missing does not compile. */
type Handlers = { readonly [K in FuzzOpName]: Handler<OpByName[K]> };

/** The handler of an operation on session slot s: the session first (an empty slot is a skip), then `act`. */
function onSession<O extends { s: number }>(act: (dev: Device, op: O, slots: Slots) => Outcome): Handler<O> {
  return (slots, op) => {
    const dev = slots.session(op.s);
    return dev === null ? SKIP : act(dev, op, slots);
  };
}

/** The handler of an operation on mapping slot m: the live mapping first (none is a skip), then `act`. */
function onMapping<O extends { m: number }>(act: (map: Mapping, op: O, slots: Slots) => Outcome): Handler<O> {
  return (slots, op) => {
    const map = slots.map(op.m);
    return map === null ? SKIP : act(map, op, slots);
  };
}

/** The handler of an operation on session slot s's dma-buf: the descriptor first (none is a skip), then `act`. */
function onDmaBuf<O extends { s: number }>(act: (buf: DmaBuf, op: O, slots: Slots) => Outcome): Handler<O> {
  return (slots, op) => {
    const buf = slots.dmabuf(op.s);
    return buf === null ? SKIP : act(buf, op, slots);
  };
}

/** open(2) into slot s, closing what was there. */
function openSession(slots: Slots, op: OpOf<'open'>): Outcome {
  slots.sessions[op.s]?.close();
  slots.sessions[op.s] = null;
  slots.sessions[op.s] = Device.open(slots.devicePath, { access: op.access });
  return OK;
}

/** CONFIGURE exactly as given; a hazard it accepts is a violation. */
function configure(dev: Device, op: OpOf<'configure'>): Outcome {
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

/** A placement at a free aligned address; one at a page of another slot's mapping. */
type AlignedPlace = Extract<MapPlace, { align: number }>;
type OverPlace = Extract<MapPlace, { over: number }>;

function mapOptions(op: OpOf<'mmap'>): MapOptions {
  return { offset: op.offset, length: op.length, prot: op.prot, private: op.private, populate: op.populate };
}

/** mmap where the kernel chooses, or at a free aligned address (a hint or MAP_FIXED_NOREPLACE). */
function mmapFree(dev: Device, op: OpOf<'mmap'>, place: AlignedPlace | undefined, slots: Slots): Outcome {
  slots.dropMap(op.m);
  if (place === undefined) {
    slots.maps[op.m] = dev.map(mapOptions(op));
    return OK;
  }
  const address = freeAddress(op.length, place.align);
  const mode = place.at === 'hint' ? 'hint' : 'fixed-noreplace';
  slots.maps[op.m] = dev.map({ ...mapOptions(op), placement: { mode, address } });
  return OK;
}

/**
 * mmap at a page of the mapping in slot `over` (taken: a hint goes
 * elsewhere, MAP_FIXED_NOREPLACE fails), or MAP_FIXED over it from there:
 * the new mapping goes to slot m, the part of `over` before it stays in
 * `over`, the part after it goes to a free slot. An empty `over` is a skip.
 */
function mmapOver(dev: Device, op: OpOf<'mmap'>, place: OverPlace, slots: Slots): Outcome {
  const over = slots.map(place.over);
  if (over === null) return SKIP;
  const pages = slots.pagesOf(over);
  const at = (place.page % pages) * slots.page;
  if (place.at !== 'fixed') {
    const address = over.address + at;
    slots.dropMap(op.m);
    const mode = place.at === 'hint-over' ? 'hint' : 'fixed-noreplace';
    slots.maps[op.m] = dev.map({ ...mapOptions(op), placement: { mode, address } });
    return OK;
  }
  if (op.m !== place.over) slots.dropMap(op.m);
  const length = Math.min(op.length, pages * slots.page - at);
  const map = dev.map({ ...mapOptions(op), length, placement: { mode: 'fixed', over, offset: at } });
  const before = map.remnants.find((r) => r.address < map.address) ?? null;
  const after = map.remnants.find((r) => r.address > map.address) ?? null;
  slots.maps[op.m] = map;
  if (op.m !== place.over) slots.maps[place.over] = before;
  else if (before !== null) slots.keep(before, op.m);
  if (after !== null) slots.keep(after, op.m);
  return OK;
}

/** The mmap operation, placed as op.place says (ops.ts, MapPlace). */
function mmap(dev: Device, op: OpOf<'mmap'>, slots: Slots): Outcome {
  const place = op.place;
  return place !== undefined && 'over' in place ? mmapOver(dev, op, place, slots) : mmapFree(dev, op, place, slots);
}

/** A forked child touches pages of the mapping; the signal that killed it is the outcome. */
function touch(map: Mapping, op: OpOf<'touch'>, slots: Slots): Outcome {
  const n = slots.pagesOf(map);
  const first = op.page % n;
  const offset = first * slots.page;
  const length = Math.min(Math.max(1, Math.min(op.pages, n - first)) * slots.page, map.length - offset);
  const firstWord = ((map.offset + offset) / 4) >>> 0;
  const r = native().forkTouch(map.buffer, offset, length, TOUCH_MODE[op.mode], op.seed, firstWord);
  const where = r.page === null ? undefined : `page ${first + r.page} of the mapping`;
  if (r.signal !== null) return { result: signalName(r.signal), ...(where ? { detail: where } : {}) };
  return r.exitCode === 0 ? OK : { result: `exit:${r.exitCode ?? '?'}` };
}

/** munmap of part of the mapping: what is left stays in its slot, a tail split off goes to a free one. */
function munmapRange(map: Mapping, op: OpOf<'munmap-range'>, slots: Slots): Outcome {
  const range = slots.range(map, op.page, Math.max(1, op.pages)) as { offset: number; length: number };
  if (range.offset === 0 && range.length >= map.length) {
    slots.maps[op.m] = null;
    map.unmap();
    return OK;
  }
  const parts = map.unmapRange(range);
  slots.maps[op.m] = parts[0] ?? null;
  const rest = parts[1];
  if (rest !== undefined) {
    const free = slots.freeSlot(op.m);
    if (free >= 0) slots.maps[free] = rest;
    else rest.unmap();
  }
  return OK;
}

/** read(2) or write(2) of the session, with a fresh buffer or a mapping (an empty mapping slot is a skip). */
function readWrite(dev: Device, op: OpOf<'read'> | OpOf<'write'>, slots: Slots): Outcome {
  const via = op.op === 'read' ? op.into : op.from;
  let view: Uint8Array;
  if (via === null) {
    view = Buffer.alloc(op.length, 0x5a);
  } else {
    const map = slots.map(via);
    if (map === null) return SKIP;
    // Only the kernel touches this memory: a page it cannot use is EFAULT, never a signal.
    view = new Uint8Array(map.buffer, 0, Math.min(op.length, map.length));
  }
  if (op.op === 'read') fs.readSync(dev.fd, view, 0, view.byteLength, op.position);
  else fs.writeSync(dev.fd, view, 0, view.byteLength, op.position);
  return OK;
}

/** FILL through the API, or a raw one with its reserved field set. */
function fill(dev: Device, op: OpOf<'fill'>): Outcome {
  if (op.reserved === 0) dev.fill(op.seed);
  else native().ioctl(dev.fd, REQUESTS.FILL, encode(FILL_LAYOUT, { seed: op.seed, reserved: op.reserved }));
  return OK;
}

/** VERIFY through the API, or a raw one with its reserved field set. */
function verify(dev: Device, op: OpOf<'verify'>): Outcome {
  if (op.reserved === 0) dev.verify(op.seed);
  else {
    const v = { seed: op.seed, reserved: op.reserved, mismatch: 0n, expected: 0, found: 0 };
    native().ioctl(dev.fd, REQUESTS.VERIFY, encode(VERIFY_LAYOUT, v));
  }
  return OK;
}

/** SHMEM_PIN: 0 and 1 through the API, others raw; 2 (a hazard) accepted is a violation. */
function shmemPin(dev: Device, op: OpOf<'shmem-pin'>): Outcome {
  if (op.pin === 0) dev.unpinPages();
  else if (op.pin === 1) dev.pinPages();
  else {
    native().ioctl(dev.fd, REQUESTS.SHMEM_PIN, encode(SHMEM_PIN_LAYOUT, { pin: op.pin, reserved: 0, from_swap: 0n }));
    // 2 is the hazard (unpin without marking dirty): allow_hazards=0 must refuse it.
    if (op.pin === 2) return { result: 'violation', detail: 'SHMEM_PIN 2 (unpin without marking dirty) was accepted' };
  }
  return OK;
}

/** DEVICE_DMA, on buffers of at most DEVICE_DMA_MAX_PAGES; a bad direction or reserved field accepted is a violation. */
function deviceDma(dev: Device, op: OpOf<'device-dma'>, slots: Slots): Outcome {
  // A session INFO refuses (nothing configured) is sent as is: the module must refuse it too.
  let size = 0n;
  try {
    size = dev.info().size;
  } catch {
    size = 0n;
  }
  if (size > BigInt(DEVICE_DMA_MAX_PAGES * slots.page)) return SKIP;
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

/** DMABUF: EXPORT (the new descriptor replaces the slot's), QUERY, or a request it must refuse. */
function dmabuf(dev: Device, op: OpOf<'dmabuf'>, slots: Slots): Outcome {
  if (op.action === 'query') {
    dev.dmaBufState();
  } else if (op.action === 'bad-op' || op.action === 'bad-reserved') {
    // op EXPORT + 1, or QUERY with a reserved bit: both must be refused.
    const bad = op.action === 'bad-op' ? { op: 2, reserved: 0 } : { op: 0, reserved: 1 };
    native().ioctl(dev.fd, REQUESTS.DMABUF, encode(DMABUF_LAYOUT, { ...bad, fd: -1, cpu_begin: 0n, cpu_end: 0n, alive: 0 }));
    return { result: 'violation', detail: `DMABUF accepted op ${bad.op} reserved ${bad.reserved}` };
  } else {
    const buf = dev.exportDmaBuf();
    slots.dmabufs[op.s]?.close();
    slots.dmabufs[op.s] = buf;
  }
  return OK;
}

/** STORE through the API, or a raw one with its reserved field set. */
function store(dev: Device, op: OpOf<'store'>): Outcome {
  const id = BigInt(op.id);
  if (op.reserved === 0) dev.store({ id, data: op.dataLen === 0 ? false : op.dataLen, pages: op.pages });
  else native().ioctl(dev.fd, REQUESTS.STORE, encode(STORE_LAYOUT, { ...storeRequest(id), reserved: op.reserved }));
  return OK;
}

/** A raw ioctl of the module's magic; FREE_WHILE_MAPPED reached this way and accepted is a violation. */
function rawIoctl(dev: Device, op: OpOf<'ioctl'>): Outcome {
  const request = ioc(op.dir & 3, IOC_MAGIC, op.nr & 0xff, op.dir === 0 ? 0 : op.size & 0x3fff);
  if (op.dir === 0) {
    native().ioctlNoArg(dev.fd, request);
    if (request === REQUESTS.FREE_WHILE_MAPPED) return { result: 'violation', detail: 'FREE_WHILE_MAPPED was accepted' };
  } else {
    native().ioctl(dev.fd, request, new Uint8Array(Math.max(1, op.size & 0x3fff)));
  }
  return OK;
}

/** Each operation's handler. */
const HANDLERS: Handlers = {
  open: openSession,
  close: onSession((dev, op, slots) => {
    slots.sessions[op.s] = null;
    dev.close();
    return OK;
  }),
  configure: onSession(configure),
  mmap: onSession(mmap),
  touch: onMapping(touch),
  munmap: onMapping((map, op, slots) => {
    slots.maps[op.m] = null;
    map.unmap();
    return OK;
  }),
  'munmap-range': onMapping(munmapRange),
  mremap: onMapping((map, op, slots) => {
    slots.maps[op.m] = map.remap(Math.max(1, op.length), { mayMove: op.mayMove });
    return OK;
  }),
  mprotect: onMapping((map, op, slots) => {
    map.protect(op.prot, slots.range(map, op.page, op.pages) ?? {});
    return OK;
  }),
  madvise: onMapping((map, op, slots) => {
    map.advise(op.advice, slots.range(map, op.page, op.pages) ?? {});
    return OK;
  }),
  msync: onMapping((map, op) => {
    map.msync({ mode: op.mode, invalidate: op.invalidate });
    return OK;
  }),
  mincore: onMapping((map) => {
    map.residency();
    return OK;
  }),
  'msync-async': onMapping((map, op, slots) => slots.start(op, map.msyncAsync({ mode: op.mode }), null, map)),
  read: onSession(readWrite),
  write: onSession(readWrite),
  fill: onSession(fill),
  verify: onSession(verify),
  'fill-async': onSession((dev, op, slots) => slots.start(op, dev.fillAsync(op.seed), dev, null)),
  'verify-async': onSession((dev, op, slots) => slots.start(op, dev.verifyAsync(op.seed), dev, null)),
  stats: onSession((dev) => {
    dev.stats();
    return OK;
  }),
  info: onSession((dev, op) => {
    dev.info({ pages: op.pages === 'all' ? true : Math.min(op.pages, MAX_PAGE_INFO) });
    return OK;
  }),
  'last-error': onSession((dev) => {
    dev.lastError();
    return OK;
  }),
  flush: onSession((dev) => {
    dev.flush();
    return OK;
  }),
  'shmem-pin': onSession(shmemPin),
  'device-dma': onSession(deviceDma),
  dmabuf: onSession(dmabuf),
  'dmabuf-close': onDmaBuf((buf, op, slots) => {
    slots.dmabufs[op.s] = null;
    buf.close();
    return OK;
  }),
  'dmabuf-sync': onDmaBuf((buf, op) => {
    buf.syncRaw(BigInt(op.flags));
    return OK;
  }),
  'mmap-dmabuf': onDmaBuf((buf, op, slots) => {
    slots.dropMap(op.m);
    slots.maps[op.m] = buf.map({ offset: op.offset, length: op.length, prot: op.prot, private: op.private });
    return OK;
  }),
  fsync: onSession((dev, op) => {
    dev.fsync(op.dataOnly);
    return OK;
  }),
  store: onSession(store),
  'free-while-mapped': onSession((dev) => {
    dev.freeWhileMapped();
    return { result: 'violation', detail: 'FREE_WHILE_MAPPED was accepted' };
  }),
  ioctl: onSession(rawIoctl),
};

/** Runs `op` by its handler. */
function handle<K extends FuzzOpName>(slots: Slots, kind: K, op: OpByName[K]): Outcome {
  const handler: Handler<OpByName[K]> = HANDLERS[kind];
  return handler(slots, op);
}

/** The sessions and mappings of one fuzz run, by slot. */
export class FuzzTarget {
  readonly devicePath: string;
  readonly sessions: (Device | null)[];
  readonly maps: (Mapping | null)[];
  /** Each session slot's latest dma-buf descriptor (it outlives the session's own). */
  readonly dmabufs: (DmaBuf | null)[];
  readonly #slots: Slots;
  readonly #background = new Set<Background>();
  readonly #onSettled: (op: FuzzOp, outcome: Outcome) => void;
  /** A background call that failed in a way no system call does: a bug of the fuzzer, thrown by settle(). */
  #bug: MmaplabError | null = null;

  /** `onSettled` hears how each -async operation's call ended. */
  constructor(devicePath: string = DEFAULT_DEVICE_PATH, onSettled: (op: FuzzOp, outcome: Outcome) => void = () => undefined) {
    this.devicePath = devicePath;
    this.#slots = new Slots(devicePath, nativeConstants().PAGE_SIZE, (op, call, device, mapping) => this.#start(op, call, device, mapping));
    this.sessions = this.#slots.sessions;
    this.maps = this.#slots.maps;
    this.dmabufs = this.#slots.dmabufs;
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
      return handle(this.#slots, op.op, op);
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
    const waits = [...this.#background].filter(
      (b) => (device !== null && b.device === device) || (mapping !== null && b.mapping === mapping),
    );
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
    for (let m = 0; m < MAP_SLOTS; m++) this.#slots.dropMap(m);
    for (let s = 0; s < SESSION_SLOTS; s++) {
      this.dmabufs[s]?.close();
      this.dmabufs[s] = null;
      this.sessions[s]?.close();
      this.sessions[s] = null;
    }
  }
}

/** A fuzzer bug surfaced while running an operation (not a kernel outcome). */
export function fuzzerBug(op: FuzzOp, err: unknown): MmaplabError {
  const what = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return new MmaplabError('EFUZZBUG', `the fuzzer failed to run ${JSON.stringify(op)}: ${what}`);
}
