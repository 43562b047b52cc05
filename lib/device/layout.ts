/**
 * The TypeScript description of kmod/include/uapi/linux/mmaplab.h: struct
 * layouts, ioctl request numbers, enum values and flag bits, plus the encoders that turn
 * plain objects into the bytes the kernel reads (and back).
 *
 * The header is the single source of truth. This file restates it so that the
 * device API is typed and needs no addon to describe itself; checkLayout()
 * compares the restatement with what the addon was compiled from
 * (test/unit/device.test.ts runs it, and Device.open() refuses to run
 * on a mismatch), so the two cannot drift silently.
 *
 * Structs are encoded in the host's byte order, as the kernel reads them.
 */
import * as os from 'node:os';
import { deviceError, invalidArgType, invalidArgValue, outOfRange } from './errors';
import type { NativeConstants, RequestName, StructName } from './native';

/** __u32, __s32, __u64, and char[length] (a NUL-terminated string). */
export type FieldType = 'u32' | 's32' | 'u64' | 'char';

export type FieldLayout =
  | { readonly offset: number; readonly type: 'u32' | 's32' | 'u64' }
  | { readonly offset: number; readonly type: 'char'; readonly length: number };

export interface StructLayout {
  readonly name: StructName;
  readonly size: number;
  /** In declaration order. */
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

/**
 * The plain-object form of a struct: u32 and s32 fields are numbers, u64
 * bigints, char arrays strings (without the NUL).
 */
export type StructValues<L extends StructLayout> = {
  -readonly [K in keyof L['fields']]: L['fields'][K]['type'] extends 'u64'
    ? bigint
    : L['fields'][K]['type'] extends 'char'
      ? string
      : number;
};

const u32 = (offset: number) => ({ offset, type: 'u32' }) as const;
const s32 = (offset: number) => ({ offset, type: 's32' }) as const;
const u64 = (offset: number) => ({ offset, type: 'u64' }) as const;
const char = (offset: number, length: number) => ({ offset, type: 'char', length }) as const;

/** sizeof() of a field. */
export function fieldBytes(field: FieldLayout): number {
  return field.type === 'char' ? field.length : field.type === 'u64' ? 8 : 4;
}

/** MMAPLAB_REASON_TEXT_LEN: mmaplab_last_error.text, NUL included. */
export const REASON_TEXT_LEN = 96;

export const CONFIG_LAYOUT = {
  name: 'mmaplab_config',
  size: 32,
  fields: {
    alloc: u32(0),
    method: u32(4),
    size: u64(8),
    flags: u32(16),
    cache: u32(20),
    delay_ms: u32(24),
    period_ms: u32(28),
  },
} as const satisfies StructLayout;

export const FILL_LAYOUT = {
  name: 'mmaplab_fill',
  size: 8,
  fields: { seed: u32(0), reserved: u32(4) },
} as const satisfies StructLayout;

export const VERIFY_LAYOUT = {
  name: 'mmaplab_verify',
  size: 24,
  fields: { seed: u32(0), reserved: u32(4), mismatch: u64(8), expected: u32(16), found: u32(20) },
} as const satisfies StructLayout;

export const LAST_ERROR_LAYOUT = {
  name: 'mmaplab_last_error',
  size: 8 + REASON_TEXT_LEN,
  fields: { error: s32(0), reason: u32(4), text: char(8, REASON_TEXT_LEN) },
} as const satisfies StructLayout;

export const STATS_LAYOUT = {
  name: 'mmaplab_stats',
  size: 136,
  fields: {
    faults: u64(0),
    map_pages_calls: u64(8),
    pages_mapped: u64(16),
    vma_opens: u64(24),
    vma_closes: u64(32),
    read_calls: u64(40),
    read_bytes: u64(48),
    write_calls: u64(56),
    write_bytes: u64(64),
    read_folio_calls: u64(72),
    writeback_calls: u64(80),
    pages_written: u64(88),
    batches: u64(96),
    mkwrite_faults: u64(104),
    periodic_runs: u64(112),
    flush_latency_last_ns: u64(120),
    flush_latency_max_ns: u64(128),
  },
} as const satisfies StructLayout;

export const PAGE_INFO_LAYOUT = {
  name: 'mmaplab_page_info',
  size: 24,
  fields: { pfn: u64(0), flags: u32(8), refcount: s32(12), mapcount: s32(16), order: u32(20) },
} as const satisfies StructLayout;

export const INFO_LAYOUT = {
  name: 'mmaplab_info',
  size: 64,
  fields: {
    alloc: u32(0),
    method: u32(4),
    size: u64(8),
    nr_pages: u64(16),
    flags: u32(24),
    cache: u32(28),
    config_flags: u32(32),
    mappings: u32(36),
    pages_ptr: u64(40),
    pages_max: u64(48),
    pages_filled: u64(56),
  },
} as const satisfies StructLayout;

export const STORE_PAGE_LAYOUT = {
  name: 'mmaplab_store_page',
  size: 24,
  fields: { arrived_ns: u64(0), dirtied_ns: u64(8), path: u32(16), arrivals: u32(20) },
} as const satisfies StructLayout;

export const STORE_LAYOUT = {
  name: 'mmaplab_store',
  size: 80,
  fields: {
    id: u64(0),
    data_ptr: u64(8),
    data_len: u64(16),
    pages_ptr: u64(24),
    pages_max: u64(32),
    pages_filled: u64(40),
    size: u64(48),
    now_ns: u64(56),
    batches: u64(64),
    open: u32(72),
    reserved: u32(76),
  },
} as const satisfies StructLayout;

export const MODULE_COUNTERS_LAYOUT = {
  name: 'mmaplab_module_counters',
  size: 32,
  fields: { buffers: u64(0), pages: u64(8), sessions: u64(16), reserved: u64(24) },
} as const satisfies StructLayout;

export const DEVICE_DMA_LAYOUT = {
  name: 'mmaplab_device_dma',
  size: 40,
  fields: {
    direction: u32(0),
    seed: u32(4),
    mismatch: u64(8),
    expected: u32(16),
    found: u32(20),
    transfers: u64(24),
    segments: u32(32),
    reserved: u32(36),
  },
} as const satisfies StructLayout;

export const SHMEM_PIN_LAYOUT = {
  name: 'mmaplab_shmem_pin',
  size: 16,
  fields: { pin: u32(0), reserved: u32(4), from_swap: u64(8) },
} as const satisfies StructLayout;

export const DMABUF_LAYOUT = {
  name: 'mmaplab_dmabuf',
  size: 32,
  fields: { op: u32(0), fd: s32(4), cpu_begin: u64(8), cpu_end: u64(16), alive: u32(24), reserved: u32(28) },
} as const satisfies StructLayout;

/** SHMEM_PIN's @pin values (MMAPLAB_SHMEM_*): 'unpin-clean' is the hazard that skips marking the pages dirty. */
export const SHMEM_PIN_VALUES = { unpin: 0, pin: 1, 'unpin-clean': 2 } as const;

/** enum mmaplab_dmabuf_op. */
export const DMABUF_OPS = { query: 0, export: 1 } as const;

/** enum mmaplab_dma_direction: which way DEVICE_DMA moves the buffer. */
export const DMA_DIRECTIONS = { 'to-device': 1, 'from-device': 2 } as const;
export type DmaDirection = keyof typeof DMA_DIRECTIONS;

export type ConfigStruct = StructValues<typeof CONFIG_LAYOUT>;
export type StoreStruct = StructValues<typeof STORE_LAYOUT>;
export type StorePageStruct = StructValues<typeof STORE_PAGE_LAYOUT>;
export type FillStruct = StructValues<typeof FILL_LAYOUT>;
export type VerifyStruct = StructValues<typeof VERIFY_LAYOUT>;
export type LastErrorStruct = StructValues<typeof LAST_ERROR_LAYOUT>;
export type StatsStruct = StructValues<typeof STATS_LAYOUT>;
export type PageInfoStruct = StructValues<typeof PAGE_INFO_LAYOUT>;
export type InfoStruct = StructValues<typeof INFO_LAYOUT>;

/** Every struct of the header, one entry each (the unit test checks this). */
export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  CONFIG_LAYOUT,
  FILL_LAYOUT,
  VERIFY_LAYOUT,
  LAST_ERROR_LAYOUT,
  STATS_LAYOUT,
  PAGE_INFO_LAYOUT,
  INFO_LAYOUT,
  STORE_PAGE_LAYOUT,
  STORE_LAYOUT,
  MODULE_COUNTERS_LAYOUT,
  DEVICE_DMA_LAYOUT,
  SHMEM_PIN_LAYOUT,
  DMABUF_LAYOUT,
];

/*
 * enum mmaplab_alloc / enum mmaplab_method / enum mmaplab_cache, by the names
 * the API uses. The one table of names: listed in the order of the report
 * grids (lib/experiments/types derives the catalogue's lists from it), the
 * numbers being the header's.
 */
export const ALLOCS = {
  kmalloc: 3,
  vmalloc: 4,
  vmalloc_user: 1,
  pages_array: 5,
  pages_comp: 6,
  pages_split: 7,
  pages_nocomp: 2,
  dma_coherent: 8,
  pci_bar: 9,
  dma_device: 10,
  shmem: 11,
  dma_pages: 12,
} as const;
export type AllocName = keyof typeof ALLOCS;
export const METHODS = {
  remap_pfn_range: 3,
  remap_pfn_range_first_pfn: 4,
  fault_page: 2,
  fault_page_noref: 5,
  fault_virt_to_page: 6,
  vm_insert_page: 7,
  vm_insert_pages: 8,
  vm_map_pages: 9,
  remap_vmalloc_range: 1,
  vmf_insert_pfn: 10,
  vmf_insert_pfn_prot: 16,
  vmf_insert_mixed: 15,
  dma_mmap_coherent: 11,
  io_remap_pfn_range: 17,
  vm_iomap_memory: 18,
  dma_mmap_pages: 19,
  page_cache: 12,
  deferred_io: 13,
  deferred_io_keep_mapping: 14,
} as const;
export type MethodName = keyof typeof METHODS;
export const CACHES = { wb: 0, wc: 1, uc: 2 } as const;
export type CacheName = keyof typeof CACHES;

/**
 * enum mmaplab_reason: why the session's last CONFIGURE, mmap or hazard
 * ioctl failed. The name is the constant's suffix in lower case with '-'
 * for '_' (MMAPLAB_REASON_BAD_ENUM is 'bad-enum').
 */
export const REASONS = {
  none: 0,
  'bad-enum': 1,
  'bad-size': 2,
  'bad-flags': 3,
  combination: 4,
  cache: 5,
  'fault-around': 6,
  'hazard-disabled': 7,
  'hazard-cap': 8,
  mapped: 9,
  'not-configured': 10,
  range: 11,
  private: 12,
  nomem: 13,
  kernel: 14,
  freed: 15,
  timing: 16,
  'no-store': 17,
  dirty: 18,
  /** STORE by id of another user's store, from a session opened without CAP_SYS_ADMIN (EPERM). */
  'not-owner': 19,
  'no-device': 20,
  'device-busy': 21,
  /** A shmem buffer whose pages SHMEM_PIN gave back to the object. */
  unpinned: 22,
  /** CONFIGURE while a dma-buf of the buffer is still open. */
  exported: 23,
  /** DEVICE_DMA of pages the DMA device cannot address, with nothing to bounce them (ERANGE). */
  'out-of-reach': 24,
} as const;
export type ReasonName = keyof typeof REASONS;
type DashToUnderscore<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${DashToUnderscore<B>}` : S;
/** 'bad_enum' for 'bad-enum': the header constant's suffix in lower case. */
export type ReasonConstantSuffix = DashToUnderscore<ReasonName>;

/**
 * enum mmaplab_path: how a page reached the backing store (page cache and
 * deferred I/O), by the constant's suffix in lower case.
 */
export const PATHS = {
  none: 0,
  writeback: 1,
  background: 2,
  expiry: 3,
  sync: 4,
  reclaim: 5,
  fsync: 6,
  flush: 7,
  deferred: 8,
  periodic: 9,
  release: 10,
} as const;
export type PathName = keyof typeof PATHS;

/** MMAPLAB_DELAY_MS_*, MMAPLAB_PERIOD_MS_*: the deferred-I/O delay and the periodic sync's period. */
export const TIMING = { DELAY_MS_DEFAULT: 50, DELAY_MS_MAX: 10_000, PERIOD_MS_MIN: 10, PERIOD_MS_MAX: 60_000 } as const;
/** MMAPLAB_STORES_KEPT: stores of closed sessions the module keeps readable. */
export const STORES_KEPT = 8;

/** CONFIGURE flags (MMAPLAB_CF_*). */
export const CONFIG_FLAGS = { FAULT_AROUND: 1 << 0, RESERVED: 1 << 1, RESERVED_KEPT: 1 << 2, SPLITTABLE: 1 << 3 } as const;
/** MMAPLAB_CF_ALL: every flag this header knows. */
export const CONFIG_FLAGS_ALL = CONFIG_FLAGS.FAULT_AROUND | CONFIG_FLAGS.RESERVED | CONFIG_FLAGS.RESERVED_KEPT | CONFIG_FLAGS.SPLITTABLE;
/** mmaplab_info.flags (MMAPLAB_INFO_*). */
export const INFO_FLAGS = { CONFIGURED: 1 << 0, CONTIGUOUS: 1 << 1, FREED: 1 << 2, SLAB: 1 << 3, UNPINNED: 1 << 4 } as const;
/** mmaplab_page_info.flags (MMAPLAB_PAGE_*). */
export const PAGE_FLAGS = {
  COMPOUND: 1 << 0,
  HEAD: 1 << 1,
  TAIL: 1 << 2,
  SLAB: 1 << 3,
  TYPED: 1 << 4,
  RESERVED: 1 << 5,
  NO_STRUCT_PAGE: 1 << 6,
} as const;

/** The name of `value` in an enum table, or null if it has none. */
export function enumName<K extends string>(table: Readonly<Record<K, number>>, value: number): K | null {
  for (const [name, v] of Object.entries(table) as [K, number][]) if (v === value) return name;
  return null;
}

/** MMAPLAB_NO_MISMATCH: VERIFY's `mismatch` when the whole buffer matched. */
export const NO_MISMATCH = 0xffff_ffff_ffff_ffffn;
/** MMAPLAB_MAX_SIZE: the largest buffer a session may ask for. */
export const MAX_SIZE = 64n << 20n;

/*
 * ioctl request encoding (include/uapi/asm-generic/ioctl.h: x86, arm, arm64,
 * riscv; not powerpc, mips, sparc or alpha, whose size field is 13 bits).
 */
export const IOC = {
  NRBITS: 8,
  TYPEBITS: 8,
  SIZEBITS: 14,
  DIRBITS: 2,
  NRSHIFT: 0,
  TYPESHIFT: 8,
  SIZESHIFT: 16,
  DIRSHIFT: 30,
  NONE: 0,
  WRITE: 1,
  READ: 2,
} as const;

export const IOC_MAGIC = 0xb7;

/** _IOC(dir, type, nr, size), unsigned. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << IOC.DIRSHIFT) | (type << IOC.TYPESHIFT) | (nr << IOC.NRSHIFT) | (size << IOC.SIZESHIFT)) >>> 0;
}

export type Direction = 'none' | 'write' | 'read' | 'read-write';

export interface DecodedRequest {
  /** 'write': userspace writes the struct, the kernel reads it (_IOW). */
  readonly direction: Direction;
  readonly type: number;
  readonly nr: number;
  readonly size: number;
}

export function decodeRequest(request: number): DecodedRequest {
  const field = (shift: number, bits: number) => Math.floor(request / 2 ** shift) % 2 ** bits;
  const dir = field(IOC.DIRSHIFT, IOC.DIRBITS);
  const direction: Direction = dir === IOC.WRITE ? 'write' : dir === IOC.READ ? 'read' : dir === IOC.NONE ? 'none' : 'read-write';
  return {
    direction,
    type: field(IOC.TYPESHIFT, IOC.TYPEBITS),
    nr: field(IOC.NRSHIFT, IOC.NRBITS),
    size: field(IOC.SIZESHIFT, IOC.SIZEBITS),
  };
}

export const REQUESTS: Readonly<Record<RequestName, number>> = {
  CONFIGURE: ioc(IOC.WRITE, IOC_MAGIC, 1, CONFIG_LAYOUT.size),
  FILL: ioc(IOC.WRITE, IOC_MAGIC, 2, FILL_LAYOUT.size),
  VERIFY: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 3, VERIFY_LAYOUT.size),
  STATS: ioc(IOC.READ, IOC_MAGIC, 4, STATS_LAYOUT.size),
  INFO: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 5, INFO_LAYOUT.size),
  LAST_ERROR: ioc(IOC.READ, IOC_MAGIC, 6, LAST_ERROR_LAYOUT.size),
  /* _IO: no argument */
  FREE_WHILE_MAPPED: ioc(IOC.NONE, IOC_MAGIC, 7, 0),
  STORE: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 8, STORE_LAYOUT.size),
  FLUSH: ioc(IOC.NONE, IOC_MAGIC, 9, 0),
  COUNTERS: ioc(IOC.READ, IOC_MAGIC, 10, MODULE_COUNTERS_LAYOUT.size),
  DEVICE_DMA: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 11, DEVICE_DMA_LAYOUT.size),
  SHMEM_PIN: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 12, SHMEM_PIN_LAYOUT.size),
  DMABUF: ioc(IOC.READ | IOC.WRITE, IOC_MAGIC, 13, DMABUF_LAYOUT.size),
};

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The bytes of `values` laid out as `layout`. A value of the wrong type is a
 * TypeError ('ERR_INVALID_ARG_TYPE'), one that does not fit its field a
 * RangeError ('ERR_OUT_OF_RANGE'); a string must leave room for its NUL and
 * hold none.
 */
export function encode<L extends StructLayout>(layout: L, values: StructValues<L>): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(layout.size);
  const view = new DataView(bytes.buffer);
  const given = values as Record<string, unknown>;
  for (const [name, field] of Object.entries(layout.fields)) {
    const v = given[name];
    const where = `${layout.name}.${name}`;
    switch (field.type) {
      case 'u32':
        if (typeof v !== 'number') throw invalidArgType(where, 'of type number', v);
        if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw outOfRange(where, 'an integer in [0, 2^32)', v);
        view.setUint32(field.offset, v, LITTLE_ENDIAN);
        break;
      case 's32':
        if (typeof v !== 'number') throw invalidArgType(where, 'of type number', v);
        if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) {
          throw outOfRange(where, 'an integer in [-2^31, 2^31)', v);
        }
        view.setInt32(field.offset, v, LITTLE_ENDIAN);
        break;
      case 'u64':
        if (typeof v !== 'bigint') throw invalidArgType(where, 'of type bigint', v);
        if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw outOfRange(where, 'in [0, 2^64)', v);
        view.setBigUint64(field.offset, v, LITTLE_ENDIAN);
        break;
      case 'char': {
        if (typeof v !== 'string') throw invalidArgType(where, 'of type string', v);
        const text = UTF8_ENCODER.encode(v);
        if (text.includes(0) || text.byteLength >= field.length) {
          throw invalidArgValue(where, `a string of at most ${field.length - 1} UTF-8 bytes without NUL`, v);
        }
        bytes.set(text, field.offset);
        break;
      }
    }
  }
  return bytes;
}

/**
 * The plain object held in `bytes` (at least layout.size long). A char
 * array is read up to its first NUL (all of it if it has none), as UTF-8.
 */
export function decode<L extends StructLayout>(layout: L, bytes: Uint8Array): StructValues<L> {
  if (bytes.byteLength < layout.size) {
    throw outOfRange('bytes.byteLength', `at least ${layout.size} (sizeof ${layout.name})`, bytes.byteLength);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, layout.size);
  const out: Record<string, number | bigint | string> = {};
  for (const [name, field] of Object.entries(layout.fields)) {
    switch (field.type) {
      case 'u32':
        out[name] = view.getUint32(field.offset, LITTLE_ENDIAN);
        break;
      case 's32':
        out[name] = view.getInt32(field.offset, LITTLE_ENDIAN);
        break;
      case 'u64':
        out[name] = view.getBigUint64(field.offset, LITTLE_ENDIAN);
        break;
      case 'char': {
        const raw = bytes.subarray(field.offset, field.offset + field.length);
        const nul = raw.indexOf(0);
        out[name] = UTF8_DECODER.decode(nul < 0 ? raw : raw.subarray(0, nul));
        break;
      }
    }
  }
  return out as StructValues<L>;
}

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8');

/** The parts of the addon's constants() this file restates. */
export type DescribedConstants = Pick<
  NativeConstants,
  | 'IOC_MAGIC'
  | 'NO_MISMATCH'
  | 'MAX_SIZE'
  | 'REASON_TEXT_LEN'
  | 'DELAY_MS_DEFAULT'
  | 'DELAY_MS_MAX'
  | 'PERIOD_MS_MIN'
  | 'PERIOD_MS_MAX'
  | 'STORES_KEPT'
  | 'ioctl'
  | 'ioc'
  | 'sizes'
  | 'offsets'
  | 'fieldSizes'
  | 'enums'
  | 'flags'
>;

/** This file's description, in the shape of the addon's constants(). */
export function describedConstants(): DescribedConstants {
  const sizes: Record<string, number> = {};
  const offsets: Record<string, number> = {};
  const fieldSizes: Record<string, number> = {};
  for (const s of STRUCT_LAYOUTS) {
    sizes[s.name] = s.size;
    for (const [name, field] of Object.entries(s.fields)) {
      offsets[`${s.name}.${name}`] = field.offset;
      fieldSizes[`${s.name}.${name}`] = fieldBytes(field);
    }
  }
  const enums: Record<string, number> = {};
  const addEnum = (prefix: string, table: Readonly<Record<string, number>>) => {
    for (const [name, value] of Object.entries(table)) {
      enums[`${prefix}_${name.toUpperCase().replaceAll('-', '_')}`] = value;
    }
    enums[`${prefix}_COUNT`] = Math.max(...Object.values(table)) + 1;
  };
  addEnum('ALLOC', ALLOCS);
  addEnum('METHOD', METHODS);
  addEnum('CACHE', CACHES);
  addEnum('REASON', REASONS);
  addEnum('PATH', PATHS);
  // enum mmaplab_dma_direction has no COUNT
  for (const [name, value] of Object.entries(DMA_DIRECTIONS)) enums[`DMA_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  // nor has enum mmaplab_dmabuf_op
  for (const [name, value] of Object.entries(DMABUF_OPS)) enums[`DMABUF_${name.toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(SHMEM_PIN_VALUES)) enums[`SHMEM_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  const flags: Record<string, number> = { CF_ALL: CONFIG_FLAGS_ALL };
  for (const [name, value] of Object.entries(CONFIG_FLAGS)) flags[`CF_${name}`] = value;
  for (const [name, value] of Object.entries(INFO_FLAGS)) flags[`INFO_${name}`] = value;
  for (const [name, value] of Object.entries(PAGE_FLAGS)) flags[`PAGE_${name}`] = value;
  return {
    IOC_MAGIC,
    NO_MISMATCH,
    MAX_SIZE,
    REASON_TEXT_LEN,
    ...TIMING,
    STORES_KEPT,
    ioctl: REQUESTS,
    ioc: IOC,
    sizes: sizes as DescribedConstants['sizes'],
    offsets,
    fieldSizes,
    enums: enums as DescribedConstants['enums'],
    flags: flags as DescribedConstants['flags'],
  };
}

/**
 * Every difference between this file's description and `header` (the
 * addon's constants()), one line each, e.g.
 * "offsets.mmaplab_verify.mismatch: layout.ts 8, header 16". Empty when they
 * agree. Keys present on one side only count as differences.
 */
export function checkLayout(header: NativeConstants): string[] {
  const ours = flatten(describedConstants());
  const theirs = flatten(header);
  const diffs: string[] = [];
  for (const key of Object.keys(ours)) {
    if (ours[key] !== theirs[key]) {
      diffs.push(`${key}: layout.ts ${String(ours[key])}, header ${String(theirs[key])}`);
    }
  }
  // Fields, structs or enum values the header has and layout.ts lacks.
  const described = new Set(Object.keys(describedConstants()));
  for (const key of Object.keys(theirs)) {
    if (described.has(key.split('.')[0] ?? '') && !(key in ours)) {
      diffs.push(`${key}: layout.ts (missing), header ${String(theirs[key])}`);
    }
  }
  return diffs;
}

/** Throws MmaplabError 'ERR_LAYOUT_MISMATCH' unless checkLayout() is empty. */
export function assertLayout(header: NativeConstants): void {
  const diffs = checkLayout(header);
  if (diffs.length > 0) {
    throw deviceError(
      'ERR_LAYOUT_MISMATCH',
      `lib/device/layout.ts disagrees with the uapi header the addon was built from ` +
        `(update layout.ts, or rebuild the addon with \`npx node-gyp rebuild\`): ${diffs.join('; ')}`,
      { diffs },
    );
  }
}

/** {a: {b: 1}} -> {'a.b': 1}; only the first dot separates the group. */
function flatten(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof value === 'object' && value !== null) {
      for (const [inner, v] of Object.entries(value)) out[`${key}.${inner}`] = v;
    } else {
      out[key] = value;
    }
  }
  return out;
}
