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
import { ALLOCS, type AllocName, CACHES, CONFIG_FLAGS, CONFIG_FLAGS_ALL, METHODS, type MethodName } from '../device/layout';
import type { Advice } from '../device/mapping';
import { configHazard, FAULT_METHODS, FILE_METHODS, OWN_PAGE_ALLOCS, PFN_METHODS, support } from '../device/support';
import type { FuzzOp, FuzzOpName, MapPlace, Prot, TouchMode } from './ops-schema';
import { at } from '../util/at';
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

const ALLOC_BY_NUMBER = new Map((Object.entries(ALLOCS) as [AllocName, number][]).map(([k, v]) => [v, k]));
const METHOD_BY_NUMBER = new Map((Object.entries(METHODS) as [MethodName, number][]).map(([k, v]) => [v, k]));
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

/** In the header's numeric order, which the seeds' sequences were drawn in (layout.ts lists them in the reports' order). */
const ALLOC_NAMES = (Object.keys(ALLOCS) as AllocName[]).sort((a, b) => ALLOCS[a] - ALLOCS[b]);
const METHOD_NAMES = (Object.keys(METHODS) as MethodName[]).sort((a, b) => METHODS[a] - METHODS[b]);
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
const ALLOC_COUNT = Math.max(...Object.values(ALLOCS)) + 1;

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

type OpOf<K extends FuzzOpName> = Extract<FuzzOp, { op: K }>;

/**
 * The generator's state: its random numbers, and what it believes the
 * device state is (which sessions are open and configured how, which slots
 * are mapped). The order in which the generator draws from `r` is what a
 * seed means: any change to it changes every sequence, and old seeds no
 * longer replay. The methods that draw say so.
 */
class Belief {
  readonly page: number;
  readonly maxPages: number;
  readonly blockPages: number;
  readonly r: Prng;
  readonly sessions: SessionBelief[] = Array.from({ length: SESSION_SLOTS }, () => ({ open: false, access: 'rw', pages: null }));
  readonly maps: (MapBelief | null)[] = Array.from({ length: MAP_SLOTS }, () => null);

  constructor(seed: number, options: GeneratorOptions) {
    this.page = options.pageSize ?? 4096;
    this.maxPages = Math.floor((options.maxSize ?? 64 * 1024 * 1024) / this.page);
    this.blockPages = options.maxBlockPages ?? 1024;
    this.r = new Prng(seed);
  }

  openSlots(): number[] {
    return this.sessions.flatMap((b, i) => (b.open ? [i] : []));
  }

  closedSlots(): number[] {
    return this.sessions.flatMap((b, i) => (b.open ? [] : [i]));
  }

  mapped(): number[] {
    return this.maps.flatMap((b, i) => (b === null ? [] : [i]));
  }

  freeMaps(): number[] {
    return this.maps.flatMap((b, i) => (b === null ? [i] : []));
  }

  session(s: number): SessionBelief {
    return at(this.sessions, s, 'a session slot');
  }

  /** A seed for FILL, VERIFY or a touch's pattern (draws). */
  seedValue(): number {
    return this.r.next();
  }

  /** Pages of session s's buffer; a guess (drawn) when no CONFIGURE set it. */
  bufPages(s: number): number {
    return this.sessions[s]?.pages ?? this.r.range(1, 4);
  }

  /** A map slot to act on: mostly a live one, as far as the belief goes (draws). */
  someMap(): number {
    const live = this.mapped();
    return live.length > 0 && this.r.chance(0.93) ? this.r.pick(live) : this.r.below(MAP_SLOTS);
  }

  /** Pages of the mapping in slot m; a guess (drawn) for an empty slot. */
  pagesOf(m: number): number {
    return this.maps[m]?.pages ?? this.r.range(1, 4);
  }

  /** A sub-range [page, page + pages) of a mapping of n pages, or all of it (pages 0) (draws). */
  subRange(n: number, wholeChance: number): { page: number; pages: number } {
    if (this.r.chance(wholeChance)) return { page: 0, pages: 0 };
    const first = this.r.below(n);
    return { page: first, pages: this.r.range(1, Math.max(1, n - first)) };
  }

  /** Opens a closed session slot (there must be one) (draws). */
  openSession(): OpOf<'open'> {
    const slot = this.r.pick(this.closedSlots());
    this.sessions[slot] = { open: true, access: this.r.chance(0.9) ? 'rw' : 'r', pages: null };
    return { op: 'open', s: slot, access: this.session(slot).access };
  }
}

/** Pages to CONFIGURE a buffer of `alloc` with (draws). */
function sizePages(b: Belief, alloc: AllocName | null): number {
  const r = b.r;
  const block =
    alloc !== null && ['kmalloc', 'pages_comp', 'pages_split', 'pages_nocomp', 'dma_coherent', 'dma_device', 'dma_pages'].includes(alloc);
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
      return b.blockPages;
    case 'blockPast':
      return b.blockPages + 1;
    case 'max':
      return block ? b.blockPages : b.maxPages;
    default:
      return r.pick([3, 5, 7, 17, 33, 63, 65, 129]);
  }
}

/** A valid CONFIGURE of the pair, its cache, flags, delay and period drawn as the method takes them (draws). */
function configureStruct(b: Belief, s: number, alloc: AllocName, method: MethodName, pages: number): OpOf<'configure'> {
  const r = b.r;
  const op: OpOf<'configure'> = {
    op: 'configure',
    s,
    alloc: ALLOCS[alloc],
    method: METHODS[method],
    size: String(pages * b.page),
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
  if (OWN_PAGE_ALLOCS.includes(alloc) && !isFile(method) && r.chance(0.15)) op.flags |= CONFIG_FLAGS.RESERVED;
  // Splitting a remapped BAR is a hazard: asked for, it must be refused (allow_hazards=0).
  if (alloc === 'pci_bar' && r.chance(0.05)) op.flags |= CONFIG_FLAGS.SPLITTABLE;
  if (method === 'deferred_io' || method === 'deferred_io_keep_mapping') op.delayMs = r.pick([0, 0, 1, 10, 50, 200]);
  else if (r.chance(0.02)) op.delayMs = r.pick([1, 50]);
  if (method === 'page_cache') op.periodMs = r.chance(0.25) ? r.pick([10, 50, 1000]) : 0;
  else if (r.chance(0.02)) op.periodMs = r.pick([10, 100]);
  return op;
}

/** Makes one field of a CONFIGURE invalid (draws). */
function breakConfigure(b: Belief, op: OpOf<'configure'>, pages: number): void {
  const r = b.r;
  const page = b.page;
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
        String((b.maxPages + 1) * page),
        String(b.maxPages * page * 2),
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

/** CONFIGURE: mostly a safe pair; hazard pairs, unsupported pairs and invalid requests sent raw. */
function configureOp(b: Belief, s: number): OpOf<'configure'> {
  const r = b.r;
  const kind = r.weighted({ safe: 72, hazard: 8, unsupported: 6, invalid: 14 });
  const [alloc, method] =
    kind === 'hazard' ? r.pick(HAZARD_PAIRS) : kind === 'unsupported' ? r.pick(UNSUPPORTED_PAIRS) : r.pick(SAFE_PAIRS);
  const pages = sizePages(b, alloc);
  const op = configureStruct(b, s, alloc, method, pages);
  if (kind === 'invalid') breakConfigure(b, op, pages);
  // A mapped buffer is not replaced (EBUSY); anything invalid or a hazard is refused.
  const anyMapped = b.maps.some((x) => x !== null && x.s === s);
  if (kind === 'safe' && !isHazardConfigure(op) && !anyMapped && pages <= b.maxPages) b.session(s).pages = pages;
  return op;
}

/**
 * Where an mmap goes: mostly the kernel's choice; an aligned hint; MAP_FIXED
 * over a live mapping. A buffer of a PMD's worth or more is placed at an
 * aligned address more often: that is where the core may map it with huge
 * entries (draws).
 */
function placeFor(b: Belief, bufferPages: number): MapPlace | undefined {
  const r = b.r;
  const live = b.mapped();
  const big = bufferPages * b.page >= 2 << 20;
  const k = r.weighted({
    kernel: big ? 30 : 48,
    hint: big ? 28 : 18,
    noreplace: big ? 14 : 8,
    hintOver: 3,
    noreplaceOver: 3,
    fixed: live.length > 0 ? 20 : 0,
  });
  const align = (): number => (r.weighted({ page: 3, pmd: 5, pud: 2 }) === 'page' ? 4096 : r.chance(5 / 7) ? 2 << 20 : 1 << 30);
  const over = (): { over: number; page: number } => {
    const o = live.length > 0 && r.chance(0.93) ? r.pick(live) : r.below(MAP_SLOTS);
    return { over: o, page: r.below(b.pagesOf(o)) };
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
}

/** The page an mmap starts at in a buffer of n pages: mostly 0, sometimes at or past its end (draws). */
function mmapOffsetPages(b: Belief, n: number): number {
  const r = b.r;
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
}

/** An mmap's length in bytes for a buffer of n pages with `left` pages from its offset: mostly to the end (draws). */
function mmapLength(b: Belief, n: number, left: number): number {
  const r = b.r;
  const page = b.page;
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
}

/** What an mmap does to the belief: slot m mapped if it fits the buffer and the access allows it. */
function believeMmap(b: Belief, op: OpOf<'mmap'>, offPages: number): void {
  const { s, m, length, place } = op;
  const maps = b.maps;
  const bs = b.session(s);
  // MAP_FIXED cuts the length to what the mapping it goes over holds; the rest of that mapping stays.
  let pages = Math.ceil(length / b.page);
  const target = place?.at === 'fixed' ? maps[place.over] : null;
  if (place?.at === 'fixed' && target) {
    const first = place.page % target.pages;
    pages = Math.min(pages, target.pages - first);
    const after = target.pages - first - pages;
    maps[place.over] = first > 0 ? { s: target.s, pages: first } : null;
    const other = b.freeMaps().find((i) => i !== m);
    if (after > 0 && other !== undefined) maps[other] = { s: target.s, pages: after };
  }
  const fits = bs.pages !== null && offPages < bs.pages && pages <= bs.pages - offPages;
  const allowed = op.private || op.prot !== 'rw' || bs.access === 'rw';
  maps[m] = fits && allowed && (place?.at !== 'fixed' || target) ? { s, pages } : null;
}

/** mmap of session s into a free slot (or over a live mapping), placed, sized and offset as drawn. */
function mmapOp(b: Belief, s: number): OpOf<'mmap'> {
  const r = b.r;
  const n = b.bufPages(s);
  const place = placeFor(b, n);
  const free = b.freeMaps();
  const m = place?.at === 'fixed' && r.chance(0.3) ? place.over : free.length > 0 ? r.pick(free) : r.below(MAP_SLOTS);
  const offPages = mmapOffsetPages(b, n);
  const length = mmapLength(b, n, Math.max(1, n - offPages));
  const prot = r.weighted<Prot>({ rw: 70, r: 18, none: 12 });
  const isPrivate = r.chance(0.15);
  const populate = r.chance(0.15);
  const op: OpOf<'mmap'> = { op: 'mmap', s, m, offset: offPages * b.page, length, prot, private: isPrivate, populate };
  const placed = place === undefined ? op : { ...op, place };
  believeMmap(b, placed, offPages);
  return placed;
}

/** A read or write position in session s's buffer: the cursor, inside, near or at its end, or far past it (draws). */
function position(b: Belief, s: number): number | null {
  const r = b.r;
  const end = b.bufPages(s) * b.page;
  switch (r.weighted({ cursor: 25, inside: 45, nearEnd: 15, end: 10, huge: 5 })) {
    case 'cursor':
      return null;
    case 'inside':
      return r.below(end);
    case 'nearEnd':
      return Math.max(0, end - r.range(1, b.page));
    case 'end':
      return end;
    default:
      return r.pick([2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]);
  }
}

/** A read or write length (draws). */
function ioLength(b: Belief): number {
  const { r, page } = b;
  return r.pick([0, 1, r.range(1, page), r.range(1, page), r.range(page, 3 * page), 16 * page]);
}

/** A live mapping to read into or write from, a quarter of the time; else a fresh buffer (null) (draws). */
function viaMap(b: Belief): number | null {
  const live = b.mapped();
  return live.length > 0 && b.r.chance(0.25) ? b.r.pick(live) : null;
}

/** A reserved field: set (nonzero) with probability p (draws). */
function reservedValue(b: Belief, p: number): number {
  return b.r.chance(p) ? b.r.range(1, 0xffff_ffff) : 0;
}

function closeOp(b: Belief, s: number): OpOf<'close'> {
  b.sessions[s] = { open: false, access: 'rw', pages: null };
  return { op: 'close', s };
}

function touchOp(b: Belief): OpOf<'touch'> {
  const r = b.r;
  const mm = b.someMap();
  const n = b.pagesOf(mm);
  const first = r.below(n);
  const pages = r.weighted({ one: 40, few: 40, all: 20 }) === 'one' ? 1 : r.range(1, Math.max(1, n - first));
  return { op: 'touch', m: mm, mode: r.weighted<TouchMode>({ read: 40, write: 35, pattern: 25 }), page: first, pages, seed: b.seedValue() };
}

function munmapOp(b: Belief): OpOf<'munmap'> {
  const mm = b.someMap();
  b.maps[mm] = null;
  return { op: 'munmap', m: mm };
}

/** Part of a mapping; what is left stays in its slot and, if split in two, the tail goes to a free one. */
function munmapRangeOp(b: Belief): OpOf<'munmap-range'> {
  const mm = b.someMap();
  const n = b.pagesOf(mm);
  const first = b.r.below(n);
  const pages = b.r.range(1, Math.max(1, n - first));
  const mb = b.maps[mm];
  if (mb) {
    const head = first;
    const tail = n - first - pages;
    b.maps[mm] = head > 0 ? { s: mb.s, pages: head } : tail > 0 ? { s: mb.s, pages: tail } : null;
    const other = b.freeMaps().find((i) => i !== mm);
    if (head > 0 && tail > 0 && other !== undefined) b.maps[other] = { s: mb.s, pages: tail };
  }
  return { op: 'munmap-range', m: mm, page: first, pages };
}

/** mremap: mostly shrinking; growing, the same length, or an unaligned one. */
function mremapOp(b: Belief): OpOf<'mremap'> {
  const { r, page } = b;
  const mm = b.someMap();
  const n = b.pagesOf(mm);
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
  const mb = b.maps[mm];
  if (mb && length <= n * page) b.maps[mm] = { s: mb.s, pages: Math.ceil(length / page) };
  return { op: 'mremap', m: mm, length, mayMove: r.chance(0.7) };
}

function mprotectOp(b: Belief): OpOf<'mprotect'> {
  const mm = b.someMap();
  return { op: 'mprotect', m: mm, prot: b.r.weighted<Prot>({ rw: 40, r: 35, none: 25 }), ...b.subRange(b.pagesOf(mm), 0.6) };
}

const ADVICE_WEIGHTS: Readonly<Partial<Record<Advice, number>>> = {
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
};

function madviseOp(b: Belief): OpOf<'madvise'> {
  const mm = b.someMap();
  const advice = b.r.weighted<Advice>(ADVICE_WEIGHTS);
  return { op: 'madvise', m: mm, advice, ...b.subRange(b.pagesOf(mm), 0.6) };
}

function infoOp(b: Belief, s: number): OpOf<'info'> {
  const k = b.r.weighted({ none: 40, all: 30, some: 30 });
  return { op: 'info', s, pages: k === 'none' ? 0 : k === 'all' ? 'all' : b.r.range(1, b.bufPages(s) + 2) };
}

function shmemPinOp(b: Belief, s: number): OpOf<'shmem-pin'> {
  const r = b.r;
  // 2 is the hazard the module must refuse (allow_hazards=0); above it, values it must refuse too.
  return { op: 'shmem-pin', s, pin: r.chance(0.08) ? r.pick([2, r.range(3, 0xffff_ffff)]) : r.chance(0.5) ? 0 : 1 };
}

function deviceDmaOp(b: Belief, s: number): OpOf<'device-dma'> {
  const r = b.r;
  // Mostly a valid request; sometimes a direction or reserved field the module must refuse.
  const bad = r.chance(0.15);
  const direction = bad && r.chance(0.5) ? r.pick([0, 3, r.range(4, 0xffff_ffff)]) : r.pick([1, 2]);
  return { op: 'device-dma', s, direction, reserved: bad && direction <= 2 ? r.range(1, 0xffff_ffff) : 0 };
}

function dmabufSyncOp(b: Belief, s: number): OpOf<'dmabuf-sync'> {
  const r = b.r;
  // Mostly START or END of READ, WRITE or both; sometimes bits the core must refuse.
  const valid = r.pick([1, 2, 3]) | (r.chance(0.5) ? 4 : 0);
  return { op: 'dmabuf-sync', s, flags: r.chance(0.85) ? valid : r.pick([0, 4, 8 | 3, r.range(0, 0xffff_ffff)]) };
}

/**
 * mmap of session s's dma-buf: the whole buffer or part of it, sometimes
 * past its end; believed mapped when it fits (the dma-buf is O_RDWR when
 * the session is).
 */
function mmapDmabufOp(b: Belief, s: number): OpOf<'mmap-dmabuf'> {
  const r = b.r;
  const m = r.below(MAP_SLOTS);
  const n = b.bufPages(s);
  const offPages = r.chance(0.8) ? 0 : r.below(n + 1);
  const pages = r.chance(0.85) ? Math.max(1, n - offPages) : n + 1;
  const prot = r.weighted<Prot>({ rw: 75, r: 15, none: 10 });
  const isPrivate = r.chance(0.15);
  const bs = b.session(s);
  const fits = bs.pages !== null && offPages + pages <= bs.pages;
  b.maps[m] = fits && (isPrivate || prot !== 'rw' || bs.access === 'rw') ? { s, pages } : null;
  return { op: 'mmap-dmabuf', s, m, offset: offPages * b.page, length: pages * b.page, prot, private: isPrivate };
}

function storeOp(b: Belief, s: number): OpOf<'store'> {
  const r = b.r;
  const id = r.weighted({ own: 70, recent: 20, huge: 5, big: 5 });
  return {
    op: 'store',
    s,
    id: id === 'own' ? '0' : id === 'recent' ? String(r.range(1, 40)) : id === 'huge' ? U64_MAX : '4294967296',
    dataLen: r.chance(0.5) ? 0 : r.range(1, 2 * b.page),
    pages: r.chance(0.5),
    reserved: reservedValue(b, 0.06),
  };
}

function ioctlOp(b: Belief, s: number): OpOf<'ioctl'> {
  const r = b.r;
  const dir = r.below(4);
  const size = dir === 0 ? 0 : r.pick([8, 24, 32, 64, 80, 104, 136, r.range(1, 256)]);
  return { op: 'ioctl', s, dir, nr: r.range(0, 20), size };
}

/** One operation of a kind, for session slot s (drawn for every kind; the map operations ignore it). */
type MakeOp<K extends FuzzOpName> = (b: Belief, s: number) => OpOf<K>;

interface OpGenerator<K extends FuzzOpName> {
  /** How often it is made, relative to the others that can be made now. */
  readonly weight: number;
  /** Made only while the belief has a closed session slot, or a live mapping. */
  readonly needs?: 'closed-slot' | 'mapping';
  readonly make: MakeOp<K>;
}

/**
 * Every operation's generator and weight. The order of the keys is part of
 * what a seed means (Prng.weighted walks them in order): do not reorder them.
 */
const GENERATORS: { readonly [K in FuzzOpName]: OpGenerator<K> } = {
  open: { weight: 4, needs: 'closed-slot', make: (b) => b.openSession() },
  close: { weight: 2, make: closeOp },
  configure: { weight: 10, make: configureOp },
  mmap: { weight: 12, make: mmapOp },
  touch: { weight: 14, needs: 'mapping', make: touchOp },
  munmap: { weight: 4, needs: 'mapping', make: munmapOp },
  'munmap-range': { weight: 3, needs: 'mapping', make: munmapRangeOp },
  mremap: { weight: 3, needs: 'mapping', make: mremapOp },
  mprotect: { weight: 4, needs: 'mapping', make: mprotectOp },
  madvise: { weight: 6, needs: 'mapping', make: madviseOp },
  msync: {
    weight: 3,
    needs: 'mapping',
    make: (b) => ({ op: 'msync', m: b.someMap(), mode: b.r.chance(0.6) ? 'sync' : 'async', invalidate: b.r.chance(0.15) }),
  },
  mincore: { weight: 2, needs: 'mapping', make: (b) => ({ op: 'mincore', m: b.someMap() }) },
  'msync-async': {
    weight: 2,
    needs: 'mapping',
    make: (b) => ({ op: 'msync-async', m: b.someMap(), mode: b.r.chance(0.7) ? 'sync' : 'async' }),
  },
  read: { weight: 5, make: (b, s) => ({ op: 'read', s, position: position(b, s), length: ioLength(b), into: viaMap(b) }) },
  write: { weight: 5, make: (b, s) => ({ op: 'write', s, position: position(b, s), length: ioLength(b), from: viaMap(b) }) },
  fill: { weight: 4, make: (b, s) => ({ op: 'fill', s, seed: b.seedValue(), reserved: reservedValue(b, 0.08) }) },
  verify: { weight: 3, make: (b, s) => ({ op: 'verify', s, seed: b.seedValue(), reserved: reservedValue(b, 0.08) }) },
  'fill-async': { weight: 2, make: (b, s) => ({ op: 'fill-async', s, seed: b.seedValue() }) },
  'verify-async': { weight: 1, make: (b, s) => ({ op: 'verify-async', s, seed: b.seedValue() }) },
  stats: { weight: 2, make: (_b, s) => ({ op: 'stats', s }) },
  info: { weight: 3, make: infoOp },
  'last-error': { weight: 2, make: (_b, s) => ({ op: 'last-error', s }) },
  flush: { weight: 2, make: (_b, s) => ({ op: 'flush', s }) },
  'shmem-pin': { weight: 2, make: shmemPinOp },
  'device-dma': { weight: 1, make: deviceDmaOp },
  dmabuf: {
    weight: 3,
    make: (b, s) => ({ op: 'dmabuf', s, action: b.r.weighted({ export: 70, query: 20, 'bad-op': 5, 'bad-reserved': 5 }) }),
  },
  'dmabuf-close': { weight: 1, make: (_b, s) => ({ op: 'dmabuf-close', s }) },
  'dmabuf-sync': { weight: 2, make: dmabufSyncOp },
  'mmap-dmabuf': { weight: 4, make: mmapDmabufOp },
  fsync: { weight: 2, make: (b, s) => ({ op: 'fsync', s, dataOnly: b.r.chance(0.3) }) },
  store: { weight: 3, make: storeOp },
  'free-while-mapped': { weight: 1, make: (_b, s) => ({ op: 'free-while-mapped', s }) },
  ioctl: { weight: 1, make: ioctlOp },
};

/** The weight of each operation now: 0 for one whose `needs` the belief does not meet. */
function weightsNow(b: Belief): Record<FuzzOpName, number> {
  const met = { 'closed-slot': b.closedSlots().length > 0, mapping: b.mapped().length > 0 };
  const weights = {} as Record<FuzzOpName, number>;
  for (const name of Object.keys(GENERATORS) as FuzzOpName[]) {
    const { weight, needs } = GENERATORS[name];
    weights[name] = needs === undefined || met[needs] ? weight : 0;
  }
  return weights;
}

function makeOp<K extends FuzzOpName>(kind: K, b: Belief, s: number): OpOf<K> {
  return GENERATORS[kind].make(b, s);
}

/** The next operation: an open when no session is, else one picked by weight, for a session slot drawn after it. */
function nextOp(b: Belief): FuzzOp {
  const open = b.openSlots();
  if (open.length === 0) return b.openSession();
  const kind = b.r.weighted<FuzzOpName>(weightsNow(b));
  // A session op mostly names an open session (a few name a closed slot: skipped).
  const s = b.r.chance(0.97) ? b.r.pick(open) : b.r.below(SESSION_SLOTS);
  return makeOp(kind, b, s);
}

/**
 * The operation sequence of `seed`, endless: take as many as a run needs.
 * Deterministic: the n-th operation depends on the seed and the options only.
 */
export function* generate(seed: number, options: GeneratorOptions = {}): Generator<FuzzOp, never, undefined> {
  const belief = new Belief(seed, options);
  for (;;) yield nextOp(belief);
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
  for (let changed = true; changed;) {
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
  const a = ALLOC_BY_NUMBER.get(op.alloc);
  const t = METHOD_BY_NUMBER.get(op.method);
  if (a === undefined || t === undefined) return false;
  const has = (flag: number): boolean => (op.flags & flag) !== 0;
  const reserved = has(CONFIG_FLAGS.RESERVED_KEPT) ? 'kept' : has(CONFIG_FLAGS.RESERVED) ? 'cleared' : undefined;
  return configHazard(a, t, { reserved, splittable: has(CONFIG_FLAGS.SPLITTABLE) }) !== null;
}
