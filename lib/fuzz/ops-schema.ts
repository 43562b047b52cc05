/**
 * The fuzzer's operations as JSON (operation logs, the minimiser's replays
 * in job.json): their schema, from which ./ops takes the FuzzOp type, and
 * reading an operation list back. Apart from ./ops, so that the guest's
 * fuzz worker, which only generates and runs operations, never loads
 * valibot.
 *
 * Every field is checked to its range (slots that exist, u32 values, u64
 * values as decimal strings) and an operation has no field its kind does
 * not name: any list that passes runs (ops.ts).
 */
import * as v from 'valibot';
import { checkShape, parseJson, u32 } from '../util/schema';
import { ADVICES, MAP_SLOTS, PLACE_ALIGNS, SESSION_SLOTS } from './slots';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A session slot, 0..SESSION_SLOTS-1. */
const session = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(SESSION_SLOTS - 1));
/** A mapping slot, 0..MAP_SLOTS-1. */
const map = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAP_SLOTS - 1));
/** Bytes or pages: an integer a double holds exactly. */
const size = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** A u64 as a decimal string (it may not fit a double). */
const u64 = v.pipe(
  v.string(),
  v.regex(/^(0|[1-9]\d*)$/, 'a u64 in decimal, as a string'),
  v.check((s) => BigInt(s) <= U64_MAX, 'a u64 in decimal, as a string'),
);

export const ProtSchema = v.picklist(['none', 'r', 'rw']);
/** read: a byte of each page; write: the same byte written back; pattern: the uapi pattern. */
export const TouchModeSchema = v.picklist(['read', 'write', 'pattern']);

/**
 * Where an mmap goes; absent, where the kernel chooses.
 *
 * - hint, noreplace: a free address aligned to `align` (one of
 *   PLACE_ALIGNS), found when the operation runs (lib/device freeAddress),
 *   as a hint or with MAP_FIXED_NOREPLACE. Not a number in the operation:
 *   the address space differs from boot to boot, the alignment does not.
 * - hint-over, noreplace-over: the address of page `page` of the mapping in
 *   slot `over`, which is taken (the kernel goes elsewhere; EEXIST).
 * - fixed: MAP_FIXED over page `page` of the mapping in slot `over` and on,
 *   replacing that part of it; the length is cut to what that mapping
 *   holds from there. What is left of it stays in `over` (the part before)
 *   and goes to a free slot (the part after), as munmap-range does.
 *
 * `page` is taken modulo that mapping's pages when the operation runs; an
 * empty `over` slot makes the operation a skip, so any subsequence still runs.
 */
export const MapPlaceSchema = v.variant('at', [
  v.strictObject({ at: v.literal('hint'), align: v.picklist(PLACE_ALIGNS) }),
  v.strictObject({ at: v.literal('noreplace'), align: v.picklist(PLACE_ALIGNS) }),
  v.strictObject({ at: v.literal('hint-over'), over: map, page: size }),
  v.strictObject({ at: v.literal('noreplace-over'), over: map, page: size }),
  v.strictObject({ at: v.literal('fixed'), over: map, page: size }),
]);

/**
 * One operation. `s` is a session slot, `m` a mapping slot; sizes are bytes
 * unless named pages; u64 fields are decimal strings (they may not fit a
 * double). Ranges of a mapping (`page`, `pages`) are taken modulo the
 * mapping's real length when the operation runs (exec.ts), so they always
 * name some part of it.
 */
export const FuzzOpSchema = v.variant('op', [
  /** open(2) of the device into slot s (a file already there is closed first). */
  v.strictObject({ op: v.literal('open'), s: session, access: v.picklist(['r', 'rw']) }),
  /** close(2); its mappings stay. */
  v.strictObject({ op: v.literal('close'), s: session }),
  /** CONFIGURE with the struct exactly as given (never through the API's hazard flag). */
  v.strictObject({
    op: v.literal('configure'),
    s: session,
    alloc: u32,
    method: u32,
    size: u64,
    flags: u32,
    cache: u32,
    delayMs: u32,
    periodMs: u32,
  }),
  /**
   * mmap(2) of session s into mapping slot m (a mapping already there is
   * unmapped first, unless it is the one MAP_FIXED goes over), where `place` says.
   */
  v.strictObject({
    op: v.literal('mmap'),
    s: session,
    m: map,
    offset: size,
    length: size,
    prot: ProtSchema,
    private: v.boolean(),
    populate: v.boolean(),
    place: v.optional(MapPlaceSchema),
  }),
  /** A forked child touches pages [page, page + pages) of mapping m and exits (fork + write through an inherited mapping). */
  v.strictObject({ op: v.literal('touch'), m: map, mode: TouchModeSchema, page: size, pages: size, seed: u32 }),
  v.strictObject({ op: v.literal('munmap'), m: map }),
  /** munmap(2) of part of mapping m; what is left stays in m and, if split in two, in a free slot. */
  v.strictObject({ op: v.literal('munmap-range'), m: map, page: size, pages: size }),
  /** mremap(2) of mapping m to `length` bytes. */
  v.strictObject({ op: v.literal('mremap'), m: map, length: size, mayMove: v.boolean() }),
  /** mprotect(2) of pages of mapping m (pages 0: all of it). */
  v.strictObject({ op: v.literal('mprotect'), m: map, prot: ProtSchema, page: size, pages: size }),
  /** madvise(2) of pages of mapping m (pages 0: all of it). */
  v.strictObject({ op: v.literal('madvise'), m: map, advice: v.picklist(ADVICES), page: size, pages: size }),
  v.strictObject({ op: v.literal('msync'), m: map, mode: v.picklist(['sync', 'async']), invalidate: v.boolean() }),
  v.strictObject({ op: v.literal('mincore'), m: map }),
  /** msync(2) on the thread pool; the sequence goes on while it runs. */
  v.strictObject({ op: v.literal('msync-async'), m: map, mode: v.picklist(['sync', 'async']) }),
  /**
   * read(2) (pread(2) at a position) of session s into a fresh buffer, or
   * into mapping `into` (the kernel then faults the mapping in itself).
   */
  v.strictObject({ op: v.literal('read'), s: session, position: v.nullable(size), length: size, into: v.nullable(map) }),
  /** write(2) / pwrite(2) from a fresh buffer, or from mapping `from`. */
  v.strictObject({ op: v.literal('write'), s: session, position: v.nullable(size), length: size, from: v.nullable(map) }),
  v.strictObject({ op: v.literal('fill'), s: session, seed: u32, reserved: u32 }),
  v.strictObject({ op: v.literal('verify'), s: session, seed: u32, reserved: u32 }),
  /** FILL / VERIFY on the thread pool; the sequence goes on while they run. */
  v.strictObject({ op: v.literal('fill-async'), s: session, seed: u32 }),
  v.strictObject({ op: v.literal('verify-async'), s: session, seed: u32 }),
  v.strictObject({ op: v.literal('stats'), s: session }),
  /** INFO, with no page records (0), at most `pages` of them, or all. */
  v.strictObject({ op: v.literal('info'), s: session, pages: v.union([size, v.literal('all')]) }),
  v.strictObject({ op: v.literal('last-error'), s: session }),
  v.strictObject({ op: v.literal('flush'), s: session }),
  /** SHMEM_PIN of session s: 0 gives a shmem buffer's pages back to the object, 1 takes them again, 2 (a hazard) and others are refused. */
  v.strictObject({ op: v.literal('shmem-pin'), s: session, pin: u32 }),
  /**
   * DEVICE_DMA of session s by the edu device (direction 1 to the device, 2
   * from it; others, and a reserved field set, must be refused). Run only
   * on buffers of at most two pages (lib/fuzz/exec): the device is slow.
   */
  v.strictObject({ op: v.literal('device-dma'), s: session, direction: u32, reserved: u32 }),
  /**
   * DMABUF of session s: EXPORT (its dma-buf's new descriptor replaces the
   * slot's), QUERY, or a request the module must refuse (an unknown op or
   * a reserved bit).
   */
  v.strictObject({ op: v.literal('dmabuf'), s: session, action: v.picklist(['export', 'query', 'bad-op', 'bad-reserved']) }),
  /** close(2) of session s's dma-buf descriptor. */
  v.strictObject({ op: v.literal('dmabuf-close'), s: session }),
  /** DMA_BUF_IOCTL_SYNC on session s's dma-buf with `flags` (valid or not). */
  v.strictObject({ op: v.literal('dmabuf-sync'), s: session, flags: u32 }),
  /** mmap(2) of session s's dma-buf descriptor into mapping slot m. */
  v.strictObject({
    op: v.literal('mmap-dmabuf'),
    s: session,
    m: map,
    offset: size,
    length: size,
    prot: ProtSchema,
    private: v.boolean(),
  }),
  /** fsync(2) / fdatasync(2) of the device file. */
  v.strictObject({ op: v.literal('fsync'), s: session, dataOnly: v.boolean() }),
  /** STORE of store `id` (0: the session's own), with up to dataLen bytes and the page records. */
  v.strictObject({ op: v.literal('store'), s: session, id: u64, dataLen: size, pages: v.boolean(), reserved: u32 }),
  /** The FREE_WHILE_MAPPED hazard: with allow_hazards=0 it must be refused (EPERM). */
  v.strictObject({ op: v.literal('free-while-mapped'), s: session }),
  /** A raw ioctl of the module's magic, any direction, number and size, with a zeroed argument. */
  v.strictObject({ op: v.literal('ioctl'), s: session, dir: u32, nr: u32, size: size }),
]);

export const FuzzOpListSchema = v.array(FuzzOpSchema);

export type Prot = v.InferOutput<typeof ProtSchema>;
export type TouchMode = v.InferOutput<typeof TouchModeSchema>;
export type MapPlace = v.InferOutput<typeof MapPlaceSchema>;
export type FuzzOp = v.InferOutput<typeof FuzzOpSchema>;
export type FuzzOpName = FuzzOp['op'];

/** Every operation's name, in the schema's order. */
export const OP_NAMES: readonly FuzzOpName[] = FuzzOpSchema.options.map((o) => o.entries.op.literal);

/** `value` as an operation, or an MmaplabError 'EFUZZOP' saying where it is wrong ('operation: s: expected ...'). */
export function checkOp(value: unknown, where = 'operation'): FuzzOp {
  return checkShape(FuzzOpSchema, value, where, 'EFUZZOP');
}

/** `data` as an operation list, or EFUZZOP naming the first bad place ('operation list: [3].s: expected ...'). */
export function checkOpList(data: unknown, source = 'operation list'): FuzzOp[] {
  return checkShape(FuzzOpListSchema, data, source, 'EFUZZOP');
}

/** An operation list from JSON text (an array of operations), checked; `source` names it in errors. */
export function parseOps(text: string, source = 'operation list'): FuzzOp[] {
  return checkOpList(parseJson(text, source, 'EFUZZOP'), source);
}
