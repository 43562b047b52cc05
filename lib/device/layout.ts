/**
 * The TypeScript description of kmod/include/uapi/linux/mmaplab.h: struct
 * layouts, ioctl request numbers and enum values, plus the encoders that turn
 * plain objects into the bytes the kernel reads (and back).
 *
 * The header is the single source of truth. This file restates it so that the
 * device API is typed and needs no addon to describe itself; checkLayout()
 * compares the restatement with what the addon was compiled from
 * (test/unit/device.test.ts runs it, and MmaplabDevice.open() refuses to run
 * on a mismatch), so the two cannot drift silently.
 *
 * Structs are encoded in the host's byte order, as the kernel reads them.
 */
import * as os from 'node:os';
import { deviceError } from './errors';
import type { NativeConstants, RequestName, StructName } from './native';

export type FieldType = 'u32' | 'u64';

export interface FieldLayout {
  readonly offset: number;
  readonly type: FieldType;
}

export interface StructLayout {
  readonly name: StructName;
  readonly size: number;
  /** In declaration order. */
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

/** The plain-object form of a struct: u32 fields are numbers, u64 bigints. */
export type StructValues<L extends StructLayout> = {
  -readonly [K in keyof L['fields']]: L['fields'][K]['type'] extends 'u64' ? bigint : number;
};

const FIELD_BYTES: Readonly<Record<FieldType, number>> = { u32: 4, u64: 8 };
const u32 = (offset: number) => ({ offset, type: 'u32' }) as const;
const u64 = (offset: number) => ({ offset, type: 'u64' }) as const;

export const CONFIG_LAYOUT = {
  name: 'mmaplab_config',
  size: 24,
  fields: { alloc: u32(0), method: u32(4), size: u64(8), flags: u32(16), reserved: u32(20) },
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

export type ConfigStruct = StructValues<typeof CONFIG_LAYOUT>;
export type FillStruct = StructValues<typeof FILL_LAYOUT>;
export type VerifyStruct = StructValues<typeof VERIFY_LAYOUT>;

export const STRUCT_LAYOUTS: readonly StructLayout[] = [CONFIG_LAYOUT, FILL_LAYOUT, VERIFY_LAYOUT];

/* enum mmaplab_alloc / enum mmaplab_method, by the names the API uses. */
export const ALLOCATORS = { vmalloc_user: 1, pages_nocomp: 2 } as const;
export type AllocName = keyof typeof ALLOCATORS;
export const METHODS = { remap_vmalloc_range: 1, fault_page: 2 } as const;
export type MethodName = keyof typeof METHODS;

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
  return (
    ((dir << IOC.DIRSHIFT) | (type << IOC.TYPESHIFT) | (nr << IOC.NRSHIFT) | (size << IOC.SIZESHIFT)) >>>
    0
  );
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
  const direction: Direction =
    dir === IOC.WRITE ? 'write' : dir === IOC.READ ? 'read' : dir === IOC.NONE ? 'none' : 'read-write';
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
};

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The bytes of `values` laid out as `layout`. Throws MmaplabError
 * 'ERR_INVALID_ARG' for a value that does not fit its field.
 */
export function encode<L extends StructLayout>(layout: L, values: StructValues<L>): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  const view = new DataView(bytes.buffer);
  const given = values as Record<string, unknown>;
  for (const [name, field] of Object.entries(layout.fields)) {
    const v = given[name];
    const where = `${layout.name}.${name}`;
    if (field.type === 'u32') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
        throw deviceError('ERR_INVALID_ARG', `${where} must be an integer in [0, 2^32), got ${String(v)}`);
      }
      view.setUint32(field.offset, v, LITTLE_ENDIAN);
    } else {
      if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
        throw deviceError('ERR_INVALID_ARG', `${where} must be a bigint in [0, 2^64), got ${String(v)}`);
      }
      view.setBigUint64(field.offset, v, LITTLE_ENDIAN);
    }
  }
  return bytes;
}

/** The plain object held in `bytes` (at least layout.size long). */
export function decode<L extends StructLayout>(layout: L, bytes: Uint8Array): StructValues<L> {
  if (bytes.byteLength < layout.size) {
    throw deviceError(
      'ERR_INVALID_ARG',
      `${layout.name} needs ${layout.size} bytes, got ${bytes.byteLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, layout.size);
  const out: Record<string, number | bigint> = {};
  for (const [name, field] of Object.entries(layout.fields)) {
    out[name] =
      field.type === 'u32'
        ? view.getUint32(field.offset, LITTLE_ENDIAN)
        : view.getBigUint64(field.offset, LITTLE_ENDIAN);
  }
  return out as StructValues<L>;
}

/** The parts of the addon's constants() this file restates. */
export type DescribedConstants = Pick<
  NativeConstants,
  'IOC_MAGIC' | 'NO_MISMATCH' | 'MAX_SIZE' | 'ioctl' | 'ioc' | 'sizes' | 'offsets' | 'fieldSizes' | 'enums'
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
      fieldSizes[`${s.name}.${name}`] = FIELD_BYTES[field.type];
    }
  }
  const enums: Record<string, number> = {};
  for (const [name, value] of Object.entries(ALLOCATORS)) enums[`ALLOC_${name.toUpperCase()}`] = value;
  enums.ALLOC_COUNT = Math.max(...Object.values(ALLOCATORS)) + 1;
  for (const [name, value] of Object.entries(METHODS)) enums[`METHOD_${name.toUpperCase()}`] = value;
  enums.METHOD_COUNT = Math.max(...Object.values(METHODS)) + 1;
  return {
    IOC_MAGIC,
    NO_MISMATCH,
    MAX_SIZE,
    ioctl: REQUESTS,
    ioc: IOC,
    sizes: sizes as DescribedConstants['sizes'],
    offsets: offsets as DescribedConstants['offsets'],
    fieldSizes: fieldSizes as DescribedConstants['fieldSizes'],
    enums: enums as DescribedConstants['enums'],
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
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'object' && value !== null) {
      for (const [inner, v] of Object.entries(value)) out[`${key}.${inner}`] = v;
    } else {
      out[key] = value;
    }
  }
  return out;
}
