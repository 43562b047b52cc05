/**
 * The fuzzer's operations: what one step does to /dev/mmaplab, as plain
 * JSON-serialisable data, and the seeded generator of operation sequences.
 *
 * An operation names its targets by slot, not by anything that exists only
 * at run time: session slots 0..SESSION_SLOTS-1 (each holds at most one open
 * file of the device) and mapping slots 0..MAP_SLOTS-1 (each holds at most
 * one live mapping, of whichever session made it). Every operation can
 * therefore run in any state: one whose slot is empty is skipped. That is
 * what lets a sequence be replayed in a fresh VM and cut down by the
 * minimiser: any subsequence is still a valid program.
 *
 * The generator is pure (a seed and the options, nothing from the device):
 * the same seed gives the same sequence on the host and in the guest, so a
 * run is named by its seed and its length. It keeps a belief of what the
 * device state probably is (which sessions are open and configured how,
 * which slots are mapped) to aim most operations at something that exists,
 * and sends a share of bad input on purpose: unknown enums, sizes that are
 * zero, unaligned or past max_size, reserved fields set, ranges past the
 * buffer, hazards (pairs, the reserved mark on compound pages, a splittable
 * BAR: the module must refuse them with EPERM when loaded with
 * allow_hazards=0).
 *
 * Three operations start a call on libuv's thread pool and let the sequence
 * go on while it runs (FILL, VERIFY, msync): the only true concurrency the
 * fuzzer has besides the kernel's own work items. The operations after them
 * race them, so their outcomes (and only theirs) may differ between a run
 * and its replay.
 */
import { ALLOCATORS, type AllocName, CACHES, CONFIG_FLAGS, CONFIG_FLAGS_ALL, METHODS, type MethodName } from '../device/layout';
import type { Advice } from '../device/mapping';
import { configHazard, FAULT_METHODS, FILE_METHODS, OWN_PAGE_ALLOCATORS, PFN_METHODS, support } from '../device/support';
import type { FuzzOp, FuzzOpName, MapPlace, Prot, TouchMode } from './ops-schema';
import { Prng } from './prng';

/** The operations and their placements travel as JSON: ./ops-schema defines them and reads a list back. */
export type { FuzzOp, FuzzOpName, MapPlace, Prot, TouchMode } from './ops-schema';

export { ADVICES, MAP_SLOTS, PLACE_ALIGNS, SESSION_SLOTS } from './slots';
import { MAP_SLOTS, SESSION_SLOTS } from './slots';

export const PLACE_KINDS: readonly MapPlace['at'][] = ['hint', 'noreplace', 'hint-over', 'noreplace-over', 'fixed'];

/** "hint/2M", "fixed:m3+p1": a placement in a few characters. */
export function describePlace(p: MapPlace): string {
  if ('align' in p) {
    const a = p.align >= 1 << 30 ? `${p.align / (1 << 30)}G` : p.align >= 1 << 20 ? `${p.align / (1 << 20)}M` : `${p.align / 1024}K`;
    return `${p.at}/${a}`;
  }
  return `${p.at}:m${p.over}+p${p.page}`;
}

/** The list as JSON, one operation per line (diff- and grep-friendly). */
export function formatOpList(ops: readonly FuzzOp[]): string {
  return ops.length === 0 ? '[]\n' : `[\n${ops.map((o) => `  ${JSON.stringify(o)}`).join(',\n')}\n]\n`;
}

const ALLOC_BY_NUMBER = new Map<number, string>(Object.entries(ALLOCATORS).map(([k, v]) => [v, k]));
const METHOD_BY_NUMBER = new Map<number, string>(Object.entries(METHODS).map(([k, v]) => [v, k]));
const CACHE_BY_NUMBER = new Map<number, string>(Object.entries(CACHES).map(([k, v]) => [v, k]));

/** One line for people, e.g. "s1 configure vmalloc/fault_page 16384 B". */
export function describeOp(op: FuzzOp): string {
  const rest = Object.entries(op)
    .filter(([k]) => k !== 'op' && k !== 's' && k !== 'm')
    .map(([k, v]) => `${k}=${v === null ? 'null' : k === 'place' ? describePlace(v as unknown as MapPlace) : String(v)}`);
  const target = 's' in op ? `s${op.s}` : `m${op.m}`;
  switch (op.op) {
    case 'configure': {
      const a = ALLOC_BY_NUMBER.get(op.alloc) ?? `alloc#${op.alloc}`;
      const t = METHOD_BY_NUMBER.get(op.method) ?? `method#${op.method}`;
      const c = CACHE_BY_NUMBER.get(op.cache) ?? `cache#${op.cache}`;
      const extra = [
        op.flags !== 0 ? `flags=${op.flags}` : '',
        op.delayMs !== 0 ? `delayMs=${op.delayMs}` : '',
        op.periodMs !== 0 ? `periodMs=${op.periodMs}` : '',
      ].filter((x) => x !== '');
      return `${target} configure ${a}/${t} size=${op.size} cache=${c}${extra.length ? ' ' + extra.join(' ') : ''}`;
    }
    case 'mmap':
      return `s${op.s} mmap -> m${op.m} ${rest.join(' ')}`;
    default:
      return `${target} ${op.op}${rest.length ? ' ' + rest.join(' ') : ''}`;
  }
}

/* The generator */

export interface GeneratorOptions {
  /** Default 4096 (x86-64). */
  pageSize?: number;
  /** The module's max_size; default MMAPLAB_MAX_SIZE, 64 MiB. */
  maxSize?: number;
  /** Pages of the largest single block the page allocator gives (MAX_PAGE_ORDER 10): 1024. */
  maxBlockPages?: number;
}

const ALLOC_NAMES = Object.keys(ALLOCATORS) as AllocName[];
const METHOD_NAMES = Object.keys(METHODS) as MethodName[];
type Pair = readonly [AllocName, MethodName];
const PAIRS: readonly Pair[] = ALLOC_NAMES.flatMap((a) => METHOD_NAMES.map((t) => [a, t] as const));
/** The pairs the fuzzer configures for real (support table: safe). */
export const SAFE_PAIRS: readonly Pair[] = PAIRS.filter(([a, t]) => support(a, t) === 'safe');
/** Sent raw: the module must refuse every one of them with EPERM (allow_hazards=0). */
export const HAZARD_PAIRS: readonly Pair[] = PAIRS.filter(([a, t]) => support(a, t) === 'hazard');
const UNSUPPORTED_PAIRS: readonly Pair[] = PAIRS.filter(([a, t]) => support(a, t) === 'unsupported');

const isPfn = (t: MethodName): boolean => (PFN_METHODS as readonly string[]).includes(t);
const isFault = (t: MethodName): boolean => (FAULT_METHODS as readonly string[]).includes(t);
const isFile = (t: MethodName): boolean => (FILE_METHODS as readonly string[]).includes(t);
/** The first method number the header does not know. */
const METHOD_COUNT = Math.max(...Object.values(METHODS)) + 1;
const ALLOC_COUNT = Math.max(...Object.values(ALLOCATORS)) + 1;

interface SessionBelief {
  open: boolean;
  access: 'r' | 'rw';
  /** Pages of the buffer last asked for with a valid-looking CONFIGURE, or null. */
  pages: number | null;
}

interface MapBelief {
  s: number;
  pages: number;
}

const U64_MAX = '18446744073709551615';

/**
 * The operation sequence of `seed`, endless: take as many as a run needs.
 * Deterministic: the n-th operation depends on the seed and the options only.
 */
export function* generate(seed: number, options: GeneratorOptions = {}): Generator<FuzzOp, never, undefined> {
  const page = options.pageSize ?? 4096;
  const maxPages = Math.floor((options.maxSize ?? 64 * 1024 * 1024) / page);
  const blockPages = options.maxBlockPages ?? 1024;
  const r = new Prng(seed);
  const sessions: SessionBelief[] = Array.from({ length: SESSION_SLOTS }, () => ({ open: false, access: 'rw', pages: null }));
  const maps: (MapBelief | null)[] = Array.from({ length: MAP_SLOTS }, () => null);

  const openSlots = (): number[] => sessions.flatMap((b, i) => (b.open ? [i] : []));
  const closedSlots = (): number[] => sessions.flatMap((b, i) => (b.open ? [] : [i]));
  const mapped = (): number[] => maps.flatMap((b, i) => (b === null ? [] : [i]));
  const freeMaps = (): number[] => maps.flatMap((b, i) => (b === null ? [i] : []));
  const seedValue = (): number => r.next();
  const bufPages = (s: number): number => sessions[s]?.pages ?? r.range(1, 4);

  /** A map slot to act on: mostly a live one (as far as the belief goes). */
  const someMap = (): number => {
    const live = mapped();
    return live.length > 0 && r.chance(0.93) ? r.pick(live) : r.below(MAP_SLOTS);
  };
  const pagesOf = (m: number): number => maps[m]?.pages ?? r.range(1, 4);
  /** A sub-range [page, page + pages) of a mapping of n pages, or all of it (pages 0). */
  const subRange = (n: number, wholeChance: number): { page: number; pages: number } => {
    if (r.chance(wholeChance)) return { page: 0, pages: 0 };
    const first = r.below(n);
    return { page: first, pages: r.range(1, Math.max(1, n - first)) };
  };

  const sizePages = (alloc: AllocName | null): number => {
    const block = alloc !== null && ['kmalloc', 'pages_comp', 'pages_split', 'pages_nocomp', 'dma_coherent', 'dma_device', 'dma_pages'].includes(alloc);
    // 2 MiB: a PMD's worth, one PMD-sized compound page for the block allocators
    // (the one kind of page the core may map with a huge PMD), so more often for them.
    const k = r.weighted({ one: 20, few: 25, some: 16, k64: 15, m2: block ? 20 : 10, blockMax: 4, blockPast: 2, max: 1.5, odd: 6.5 });
    switch (k) {
      case 'one':
        return 1;
      case 'few':
        return r.range(2, 4);
      case 'some':
        return r.range(5, 32);
      case 'k64':
        return 16;
      case 'm2':
        return 512;
      case 'blockMax':
        return blockPages;
      case 'blockPast':
        return blockPages + 1;
      case 'max':
        return block ? blockPages : maxPages;
      default:
        return r.pick([3, 5, 7, 17, 33, 63, 65, 129]);
    }
  };

  const configure = (s: number): FuzzOp => {
    const kind = r.weighted({ safe: 72, hazard: 8, unsupported: 6, invalid: 14 });
    const [alloc, method] =
      kind === 'hazard' ? r.pick(HAZARD_PAIRS) : kind === 'unsupported' ? r.pick(UNSUPPORTED_PAIRS) : r.pick(SAFE_PAIRS);
    const pages = sizePages(alloc);
    const op = {
      op: 'configure' as const,
      s,
      alloc: ALLOCATORS[alloc] as number,
      method: METHODS[method] as number,
      size: String(pages * page),
      flags: 0,
      cache: 0,
      delayMs: 0,
      periodMs: 0,
    };
    if (isPfn(method)) op.cache = r.pick([0, 0, 0, 1, 2]);
    else if (r.chance(0.04)) op.cache = r.pick([1, 2]);
    if (isFault(method) ? r.chance(0.4) : r.chance(0.03)) op.flags = CONFIG_FLAGS.FAULT_AROUND;
    // The reserved-page ritual, where the module takes it (pages of the driver's own;
    // on compound ones, kmalloc and pages_comp, a hazard the module must refuse).
    if (OWN_PAGE_ALLOCATORS.includes(alloc) && !isFile(method) && r.chance(0.15)) op.flags |= CONFIG_FLAGS.RESERVED;
    // Splitting a remapped BAR is a hazard: asked for, it must be refused (allow_hazards=0).
    if (alloc === 'pci_bar' && r.chance(0.05)) op.flags |= CONFIG_FLAGS.SPLITTABLE;
    if (method === 'deferred_io' || method === 'deferred_io_keep_mapping') op.delayMs = r.pick([0, 0, 1, 10, 50, 200]);
    else if (r.chance(0.02)) op.delayMs = r.pick([1, 50]);
    if (method === 'page_cache') op.periodMs = r.chance(0.25) ? r.pick([10, 50, 1000]) : 0;
    else if (r.chance(0.02)) op.periodMs = r.pick([10, 100]);
    if (kind === 'invalid') {
      switch (r.weighted({ alloc: 2, method: 2, cache: 1, size: 4, flags: 1, delay: 1, period: 1 })) {
        case 'alloc':
          op.alloc = r.pick([0, ALLOC_COUNT, 15, 0x7fff_ffff, 0xffff_ffff]);
          break;
        case 'method':
          op.method = r.pick([0, METHOD_COUNT, 99, 0xffff_ffff]);
          break;
        case 'cache':
          op.cache = r.pick([3, 4, 0xffff_ffff]);
          break;
        case 'size':
          op.size = r.pick([
            '0',
            '1',
            String(page - 1),
            String(page + 1),
            String(pages * page + r.range(1, page - 1)),
            String((maxPages + 1) * page),
            String(maxPages * page * 2),
            '4294967296',
            '9223372036854775808',
            U64_MAX,
          ]);
          break;
        case 'flags':
          // Unknown bits, or both reserved modes at once.
          op.flags = r.pick([CONFIG_FLAGS_ALL + 1, CONFIG_FLAGS.RESERVED | CONFIG_FLAGS.RESERVED_KEPT, 0x8000_0000, 0xffff_ffff]);
          break;
        case 'delay':
          op.delayMs = r.pick([10_001, 0xffff_ffff]);
          break;
        default:
          op.periodMs = r.pick([1, 9, 60_001, 0xffff_ffff]);
      }
    }
    const b = sessions[s] as SessionBelief;
    // A mapped buffer is not replaced (EBUSY); anything invalid or a hazard is refused.
    const anyMapped = maps.some((x) => x !== null && x.s === s);
    if (kind === 'safe' && !isHazardConfigure(op) && !anyMapped && pages <= maxPages) b.pages = pages;
    return op;
  };

  /**
   * Where an mmap goes: mostly the kernel's choice; an aligned hint; MAP_FIXED
   * over a live mapping. A buffer of a PMD's worth or more is placed at an
   * aligned address more often: that is where the core may map it with huge
   * entries.
   */
  const placeFor = (bufferPages: number): MapPlace | undefined => {
    const live = mapped();
    const big = bufferPages * page >= 2 << 20;
    const k = r.weighted({
      kernel: big ? 30 : 48,
      hint: big ? 28 : 18,
      noreplace: big ? 14 : 8,
      hintOver: 3,
      noreplaceOver: 3,
      fixed: live.length > 0 ? 20 : 0,
    });
    const align = (): number => r.weighted({ page: 3, pmd: 5, pud: 2 }) === 'page' ? 4096 : r.chance(5 / 7) ? 2 << 20 : 1 << 30;
    const over = (): { over: number; page: number } => {
      const o = live.length > 0 && r.chance(0.93) ? r.pick(live) : r.below(MAP_SLOTS);
      return { over: o, page: r.below(pagesOf(o)) };
    };
    switch (k) {
      case 'kernel':
        return undefined;
      case 'hint':
        return { at: 'hint', align: align() };
      case 'noreplace':
        return { at: 'noreplace', align: align() };
      case 'hintOver':
        return { at: 'hint-over', ...over() };
      case 'noreplaceOver':
        return { at: 'noreplace-over', ...over() };
      default:
        return { at: 'fixed', ...over() };
    }
  };

  const mmap = (s: number): FuzzOp => {
    const n = bufPages(s);
    const place = placeFor(n);
    const free = freeMaps();
    const m =
      place?.at === 'fixed' && r.chance(0.3) ? place.over : free.length > 0 ? r.pick(free) : r.below(MAP_SLOTS);
    const offPages = (() => {
      switch (r.weighted({ zero: 50, inside: 28, last: 8, end: 8, huge: 6 })) {
        case 'zero':
          return 0;
        case 'inside':
          return r.below(n);
        case 'last':
          return n - 1;
        case 'end':
          return n;
        default:
          return r.pick([1 << 20, 1 << 30]);
      }
    })();
    const left = Math.max(1, n - offPages);
    const length = (() => {
      switch (r.weighted({ toEnd: 45, pages: 22, one: 8, unaligned: 12, past: 10, huge: 3 })) {
        case 'toEnd':
          return left * page;
        case 'pages':
          return r.range(1, left) * page;
        case 'one':
          return page;
        case 'unaligned':
          return Math.max(1, r.range(1, left) * page - r.range(1, page - 1));
        case 'past':
          return (left + r.range(1, 2)) * page;
        default:
          return 2 * Math.max(n, 1) * page + page;
      }
    })();
    const prot = r.weighted<Prot>({ rw: 70, r: 18, none: 12 });
    const isPrivate = r.chance(0.15);
    const populate = r.chance(0.15);
    const b = sessions[s] as SessionBelief;
    // MAP_FIXED cuts the length to what the mapping it goes over holds; the rest of that mapping stays.
    let pages = Math.ceil(length / page);
    const target = place?.at === 'fixed' ? maps[place.over] : null;
    if (place?.at === 'fixed' && target) {
      const first = place.page % target.pages;
      pages = Math.min(pages, target.pages - first);
      const after = target.pages - first - pages;
      maps[place.over] = first > 0 ? { s: target.s, pages: first } : null;
      const other = freeMaps().find((i) => i !== m);
      if (after > 0 && other !== undefined) maps[other] = { s: target.s, pages: after };
    }
    const fits = b.pages !== null && offPages < b.pages && pages <= b.pages - offPages;
    const allowed = isPrivate || prot !== 'rw' || b.access === 'rw';
    maps[m] = fits && allowed && (place?.at !== 'fixed' || target) ? { s, pages } : null;
    const op: FuzzOp = { op: 'mmap', s, m, offset: offPages * page, length, prot, private: isPrivate, populate };
    return place === undefined ? op : { ...op, place };
  };

  const position = (s: number): number | null => {
    const end = bufPages(s) * page;
    switch (r.weighted({ cursor: 25, inside: 45, nearEnd: 15, end: 10, huge: 5 })) {
      case 'cursor':
        return null;
      case 'inside':
        return r.below(end);
      case 'nearEnd':
        return Math.max(0, end - r.range(1, page));
      case 'end':
        return end;
      default:
        return r.pick([2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]);
    }
  };
  const ioLength = (): number =>
    r.pick([0, 1, r.range(1, page), r.range(1, page), r.range(page, 3 * page), 16 * page]);
  const viaMap = (): number | null => {
    const live = mapped();
    return live.length > 0 && r.chance(0.25) ? r.pick(live) : null;
  };

  for (;;) {
    const open = openSlots();
    if (open.length === 0) {
      const s = r.pick(closedSlots());
      sessions[s] = { open: true, access: r.chance(0.9) ? 'rw' : 'r', pages: null };
      yield { op: 'open', s, access: (sessions[s] as SessionBelief).access };
      continue;
    }
    const haveMaps = mapped().length > 0;
    const m = haveMaps ? 1 : 0;
    const kind = r.weighted<FuzzOpName>({
      open: closedSlots().length > 0 ? 4 : 0,
      close: 2,
      configure: 10,
      mmap: 12,
      touch: 14 * m,
      munmap: 4 * m,
      'munmap-range': 3 * m,
      mremap: 3 * m,
      mprotect: 4 * m,
      madvise: 6 * m,
      msync: 3 * m,
      mincore: 2 * m,
      'msync-async': 2 * m,
      read: 5,
      write: 5,
      fill: 4,
      verify: 3,
      'fill-async': 2,
      'verify-async': 1,
      stats: 2,
      info: 3,
      'last-error': 2,
      flush: 2,
      'shmem-pin': 2,
      'device-dma': 1,
      dmabuf: 3,
      'dmabuf-close': 1,
      'dmabuf-sync': 2,
      'mmap-dmabuf': 4,
      fsync: 2,
      store: 3,
      'free-while-mapped': 1,
      ioctl: 1,
    });
    // A session op mostly names an open session (a few name a closed slot: skipped).
    const s = r.chance(0.97) ? r.pick(open) : r.below(SESSION_SLOTS);
    switch (kind) {
      case 'open': {
        const slot = r.pick(closedSlots());
        sessions[slot] = { open: true, access: r.chance(0.9) ? 'rw' : 'r', pages: null };
        yield { op: 'open', s: slot, access: (sessions[slot] as SessionBelief).access };
        break;
      }
      case 'close':
        sessions[s] = { open: false, access: 'rw', pages: null };
        yield { op: 'close', s };
        break;
      case 'configure':
        yield configure(s);
        break;
      case 'mmap':
        yield mmap(s);
        break;
      case 'touch': {
        const mm = someMap();
        const n = pagesOf(mm);
        const first = r.below(n);
        const pages = r.weighted({ one: 40, few: 40, all: 20 }) === 'one' ? 1 : r.range(1, Math.max(1, n - first));
        yield { op: 'touch', m: mm, mode: r.weighted<TouchMode>({ read: 40, write: 35, pattern: 25 }), page: first, pages, seed: seedValue() };
        break;
      }
      case 'munmap': {
        const mm = someMap();
        maps[mm] = null;
        yield { op: 'munmap', m: mm };
        break;
      }
      case 'munmap-range': {
        const mm = someMap();
        const n = pagesOf(mm);
        const first = r.below(n);
        const pages = r.range(1, Math.max(1, n - first));
        const b = maps[mm];
        if (b) {
          const head = first;
          const tail = n - first - pages;
          maps[mm] = head > 0 ? { s: b.s, pages: head } : tail > 0 ? { s: b.s, pages: tail } : null;
          const other = freeMaps().find((i) => i !== mm);
          if (head > 0 && tail > 0 && other !== undefined) maps[other] = { s: b.s, pages: tail };
        }
        yield { op: 'munmap-range', m: mm, page: first, pages };
        break;
      }
      case 'mremap': {
        const mm = someMap();
        const n = pagesOf(mm);
        const length = (() => {
          switch (r.weighted({ shrink: 50, grow: 22, same: 10, unaligned: 18 })) {
            case 'shrink':
              return r.range(1, n) * page;
            case 'grow':
              return (n + r.range(1, 4)) * page;
            case 'same':
              return n * page;
            default:
              return r.range(1, n * page);
          }
        })();
        const b = maps[mm];
        if (b && length <= n * page) maps[mm] = { s: b.s, pages: Math.ceil(length / page) };
        yield { op: 'mremap', m: mm, length, mayMove: r.chance(0.7) };
        break;
      }
      case 'mprotect': {
        const mm = someMap();
        yield { op: 'mprotect', m: mm, prot: r.weighted<Prot>({ rw: 40, r: 35, none: 25 }), ...subRange(pagesOf(mm), 0.6) };
        break;
      }
      case 'madvise': {
        const mm = someMap();
        const advice = r.weighted<Advice>({
          dontneed: 25,
          willneed: 10,
          normal: 4,
          random: 4,
          sequential: 4,
          dontfork: 6,
          dofork: 6,
          cold: 8,
          pageout: 8,
          free: 4,
          remove: 4,
          populate_read: 7,
          populate_write: 7,
          hugepage: 4,
          nohugepage: 3,
        });
        yield { op: 'madvise', m: mm, advice, ...subRange(pagesOf(mm), 0.6) };
        break;
      }
      case 'msync':
        yield { op: 'msync', m: someMap(), mode: r.chance(0.6) ? 'sync' : 'async', invalidate: r.chance(0.15) };
        break;
      case 'mincore':
        yield { op: 'mincore', m: someMap() };
        break;
      case 'msync-async':
        yield { op: 'msync-async', m: someMap(), mode: r.chance(0.7) ? 'sync' : 'async' };
        break;
      case 'fill-async':
        yield { op: 'fill-async', s, seed: seedValue() };
        break;
      case 'verify-async':
        yield { op: 'verify-async', s, seed: seedValue() };
        break;
      case 'read':
        yield { op: 'read', s, position: position(s), length: ioLength(), into: viaMap() };
        break;
      case 'write':
        yield { op: 'write', s, position: position(s), length: ioLength(), from: viaMap() };
        break;
      case 'fill':
        yield { op: 'fill', s, seed: seedValue(), reserved: r.chance(0.08) ? r.range(1, 0xffff_ffff) : 0 };
        break;
      case 'verify':
        yield { op: 'verify', s, seed: seedValue(), reserved: r.chance(0.08) ? r.range(1, 0xffff_ffff) : 0 };
        break;
      case 'stats':
        yield { op: 'stats', s };
        break;
      case 'info': {
        const k = r.weighted({ none: 40, all: 30, some: 30 });
        yield { op: 'info', s, pages: k === 'none' ? 0 : k === 'all' ? 'all' : r.range(1, bufPages(s) + 2) };
        break;
      }
      case 'last-error':
        yield { op: 'last-error', s };
        break;
      case 'flush':
        yield { op: 'flush', s };
        break;
      case 'shmem-pin':
        // 2 is the hazard the module must refuse (allow_hazards=0); above it, values it must refuse too.
        yield { op: 'shmem-pin', s, pin: r.chance(0.08) ? r.pick([2, r.range(3, 0xffff_ffff)]) : r.chance(0.5) ? 0 : 1 };
        break;
      case 'device-dma': {
        // Mostly a valid request; sometimes a direction or reserved field the module must refuse.
        const bad = r.chance(0.15);
        const direction = bad && r.chance(0.5) ? r.pick([0, 3, r.range(4, 0xffff_ffff)]) : r.pick([1, 2]);
        yield { op: 'device-dma', s, direction, reserved: bad && direction <= 2 ? r.range(1, 0xffff_ffff) : 0 };
        break;
      }
      case 'dmabuf':
        yield { op: 'dmabuf', s, action: r.weighted({ export: 70, query: 20, 'bad-op': 5, 'bad-reserved': 5 }) };
        break;
      case 'dmabuf-close':
        yield { op: 'dmabuf-close', s };
        break;
      case 'dmabuf-sync': {
        // Mostly START or END of READ, WRITE or both; sometimes bits the core must refuse.
        const valid = r.pick([1, 2, 3]) | (r.chance(0.5) ? 4 : 0);
        yield { op: 'dmabuf-sync', s, flags: r.chance(0.85) ? valid : r.pick([0, 4, 8 | 3, r.range(0, 0xffff_ffff)]) };
        break;
      }
      case 'mmap-dmabuf': {
        // The whole buffer or part of it, sometimes past its end; believed
        // mapped when it fits (the dma-buf is O_RDWR when the session is).
        const m = r.below(MAP_SLOTS);
        const n = bufPages(s);
        const offPages = r.chance(0.8) ? 0 : r.below(n + 1);
        const pages = r.chance(0.85) ? Math.max(1, n - offPages) : n + 1;
        const prot = r.weighted<Prot>({ rw: 75, r: 15, none: 10 });
        const isPrivate = r.chance(0.15);
        const b = sessions[s] as SessionBelief;
        const fits = b.pages !== null && offPages + pages <= b.pages;
        maps[m] = fits && (isPrivate || prot !== 'rw' || b.access === 'rw') ? { s, pages } : null;
        yield { op: 'mmap-dmabuf', s, m, offset: offPages * page, length: pages * page, prot, private: isPrivate };
        break;
      }
      case 'fsync':
        yield { op: 'fsync', s, dataOnly: r.chance(0.3) };
        break;
      case 'store': {
        const id = r.weighted({ own: 70, recent: 20, huge: 5, big: 5 });
        yield {
          op: 'store',
          s,
          id: id === 'own' ? '0' : id === 'recent' ? String(r.range(1, 40)) : id === 'huge' ? U64_MAX : '4294967296',
          dataLen: r.chance(0.5) ? 0 : r.range(1, 2 * page),
          pages: r.chance(0.5),
          reserved: r.chance(0.06) ? r.range(1, 0xffff_ffff) : 0,
        };
        break;
      }
      case 'free-while-mapped':
        yield { op: 'free-while-mapped', s };
        break;
      case 'ioctl': {
        const dir = r.below(4);
        const size = dir === 0 ? 0 : r.pick([8, 24, 32, 64, 80, 104, 136, r.range(1, 256)]);
        yield { op: 'ioctl', s, dir, nr: r.range(0, 20), size };
        break;
      }
    }
  }
}

/** The first `count` operations of `seed`. */
export function generateOps(seed: number, count: number, options: GeneratorOptions = {}): FuzzOp[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`generateOps: count must be a non-negative integer, got ${count}`);
  const out: FuzzOp[] = [];
  const gen = generate(seed, options);
  while (out.length < count) out.push(gen.next().value);
  return out;
}

/**
 * Operations that only read state (an ioctl that reports, mincore): the
 * first guess of the minimiser is that a complaint does not need them.
 */
export const READ_ONLY_OPS: readonly FuzzOpName[] = ['stats', 'last-error', 'info', 'verify', 'store', 'mincore'];

/**
 * The operations on the slots the last operation depends on: its own
 * session or mapping slot, the sessions that mapped into its mapping slots,
 * the mapping slots those sessions mapped into, and so on (read and write
 * through a mapping link a session and a mapping slot too, and so does an
 * mmap placed over another slot's mapping). A guess for the
 * minimiser, not a proof: a partial munmap can move the rest of a mapping
 * to another slot, and sessions share the module's store list.
 */
export function slotSlice(ops: readonly FuzzOp[]): FuzzOp[] {
  const last = ops[ops.length - 1];
  if (last === undefined) return [];
  const sessions = new Set<number>();
  const maps = new Set<number>();
  const mark = (op: FuzzOp): void => {
    if ('s' in op) sessions.add(op.s);
    if ('m' in op) maps.add(op.m);
  };
  mark(last);
  for (let changed = true; changed; ) {
    changed = false;
    const before = sessions.size + maps.size;
    for (const op of ops) {
      const over = op.op === 'mmap' && op.place !== undefined && 'over' in op.place ? op.place.over : null;
      // A mapping of a session's dma-buf ties them as a mapping of the device does.
      const mapsSession = op.op === 'mmap' || op.op === 'mmap-dmabuf';
      if (mapsSession && (sessions.has(op.s) || maps.has(op.m) || (over !== null && maps.has(over)))) {
        mark(op);
        if (over !== null) maps.add(over);
      }
      if (op.op === 'read' || op.op === 'write') {
        const via = op.op === 'read' ? op.into : op.from;
        if (via !== null && (sessions.has(op.s) || maps.has(via))) {
          mark(op);
          maps.add(via);
        }
      }
    }
    changed = sessions.size + maps.size !== before;
  }
  return ops.filter((op) => ('s' in op && sessions.has(op.s)) || ('m' in op && maps.has(op.m)));
}

/**
 * Is this CONFIGURE a hazard the module must refuse with allow_hazards=0: a
 * pair the support table marks as one, the reserved mark left set or on
 * compound pages, a splittable BAR? (A request that is also invalid
 * otherwise is refused for that first; either way it is never accepted.)
 */
export function isHazardConfigure(op: Extract<FuzzOp, { op: 'configure' }>): boolean {
  const a = ALLOC_BY_NUMBER.get(op.alloc) as AllocName | undefined;
  const t = METHOD_BY_NUMBER.get(op.method) as MethodName | undefined;
  if (a === undefined || t === undefined) return false;
  const has = (flag: number): boolean => (op.flags & flag) !== 0;
  const reserved = has(CONFIG_FLAGS.RESERVED_KEPT) ? 'kept' : has(CONFIG_FLAGS.RESERVED) ? 'cleared' : undefined;
  return configHazard(a, t, { reserved, splittable: has(CONFIG_FLAGS.SPLITTABLE) }) !== null;
}
