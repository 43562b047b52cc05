/*
 * lib/device and the addon on a host without /dev/mmaplab: the layout agrees
 * with the uapi header, errors look like Node's, mappings (of /dev/zero)
 * behave, and misuse throws instead of crashing.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ALLOC_NAMES,
  CACHE_NAMES,
  checkPattern,
  errnoName,
  isSyscallError,
  METHOD_NAMES,
  Device,
  MmaplabError,
  REASON_NAMES,
  writePattern,
} from '../../lib/device';
import { infoFromStruct, lastErrorFromStruct, pageInfoFromStruct, statsFromStruct } from '../../lib/device/device';
import {
  ALLOCS,
  CACHES,
  CONFIG_FLAGS,
  CONFIG_LAYOUT,
  checkLayout,
  decode,
  decodeRequest,
  describedConstants,
  type Direction,
  encode,
  fieldBytes,
  INFO_FLAGS,
  INFO_LAYOUT,
  IOC,
  LAST_ERROR_LAYOUT,
  METHODS,
  PAGE_FLAGS,
  PAGE_INFO_LAYOUT,
  PATHS,
  REASONS,
  REQUESTS,
  STATS_LAYOUT,
  type StatsStruct,
  STRUCT_LAYOUTS,
  VERIFY_LAYOUT,
} from '../../lib/device/layout';
import { type FieldKey, native, nativeConstants, type NativeConstants, packageRoot } from '../../lib/device/native';
import { assertArgError, assertDeviceError, assertSyscallError, assertTypeError, thrown } from './device-asserts';

/** dist/lib/device when this file runs as dist/test/unit/device.test.js. */
const DEVICE_MODULE = path.resolve(__dirname, '../../lib/device');

function runChild(script: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('device layout: lib/device/layout.ts equals the uapi header the addon was built from', () => {
  let header: NativeConstants;
  before(() => {
    header = nativeConstants();
  });
  /** The header's offset of a field it must have. */
  const offsetOf = (field: FieldKey): number => {
    const offset = header.offsets[field];
    assert.ok(offset !== undefined, `the header has no field ${field}`);
    return offset;
  };

  it("every struct size, field offset and field size is the header's", () => {
    const ours = describedConstants();
    assert.deepEqual(ours.sizes, header.sizes);
    assert.deepEqual(ours.offsets, header.offsets);
    assert.deepEqual(ours.fieldSizes, header.fieldSizes);
  });

  it("every request number (CONFIGURE .. FREE_WHILE_MAPPED) is the header's", () => {
    assert.deepEqual(describedConstants().ioctl, header.ioctl);
  });

  it("the ioctl encoding, enum values, NO_MISMATCH, MAX_SIZE and the magic are the header's", () => {
    const ours = describedConstants();
    assert.deepEqual(ours.ioc, header.ioc);
    assert.deepEqual(ours.enums, header.enums);
    assert.equal(ours.NO_MISMATCH, header.NO_MISMATCH);
    assert.equal(ours.MAX_SIZE, header.MAX_SIZE);
    assert.equal(ours.IOC_MAGIC, header.IOC_MAGIC);
    assert.equal(typeof header.NO_MISMATCH, 'bigint');
    assert.equal(header.NO_MISMATCH, 2n ** 64n - 1n);
    assert.equal(header.MAX_SIZE, 64n * 1024n * 1024n);
  });

  it('checkLayout() finds no difference, and names a drifted offset or a field layout.ts lacks', () => {
    assert.deepEqual(checkLayout(header), []);
    const drifted: NativeConstants = {
      ...header,
      offsets: { ...header.offsets, 'mmaplab_verify.mismatch': 16, 'mmaplab_verify.extra': 24 },
    };
    assert.deepEqual(checkLayout(drifted), [
      'offsets.mmaplab_verify.mismatch: layout.ts 8, header 16',
      'offsets.mmaplab_verify.extra: layout.ts (missing), header 24',
    ]);
  });

  it('the request numbers decode to magic 0xb7, nr 1..3, _IOW/_IOWR and the struct size', () => {
    assert.deepEqual(decodeRequest(header.ioctl.CONFIGURE), {
      direction: 'write',
      type: 0xb7,
      nr: 1,
      size: header.sizes.mmaplab_config,
    });
    assert.deepEqual(decodeRequest(header.ioctl.FILL), {
      direction: 'write',
      type: 0xb7,
      nr: 2,
      size: header.sizes.mmaplab_fill,
    });
    assert.deepEqual(decodeRequest(header.ioctl.VERIFY), {
      direction: 'read-write',
      type: 0xb7,
      nr: 3,
      size: header.sizes.mmaplab_verify,
    });
    // _IOWR sets the top bit: the number is unsigned and above 2^31.
    assert.ok(header.ioctl.VERIFY > 2 ** 31 && header.ioctl.VERIFY < 2 ** 32);
    assert.equal(IOC.READ | IOC.WRITE, header.ioc.READ | header.ioc.WRITE);
  });

  it('encode() lays fields at their offsets in host byte order and decode() reads them back', () => {
    const values = { seed: 0xdeadbeef, reserved: 0, mismatch: 0x0102030405060708n, expected: 1, found: 0xffffffff };
    const bytes = encode(VERIFY_LAYOUT, values);
    assert.equal(bytes.byteLength, header.sizes.mmaplab_verify);
    const view = new DataView(bytes.buffer);
    const le = os.endianness() === 'LE';
    assert.equal(view.getUint32(offsetOf('mmaplab_verify.seed'), le), 0xdeadbeef);
    assert.equal(view.getBigUint64(offsetOf('mmaplab_verify.mismatch'), le), 0x0102030405060708n);
    assert.equal(view.getUint32(offsetOf('mmaplab_verify.found'), le), 0xffffffff);
    assert.deepEqual(decode(VERIFY_LAYOUT, bytes), values);
  });

  it('encode() refuses values that do not fit their field with ERR_INVALID_ARG', () => {
    const good = { alloc: 1, method: 1, size: 4096n, flags: 0, cache: 0, delay_ms: 0, period_ms: 0 };
    const bad: Record<string, unknown>[] = [
      { alloc: -1 },
      { alloc: 1.5 },
      { alloc: 2 ** 32 },
      { method: '1' },
      { size: 4096 },
      { size: -1n },
      { size: 2n ** 64n },
    ];
    for (const b of bad) {
      assertArgError(() => encode(CONFIG_LAYOUT, { ...good, ...b }));
    }
    assert.doesNotThrow(() => encode(CONFIG_LAYOUT, { ...good, size: 2n ** 64n - 1n, alloc: 2 ** 32 - 1 }));
  });

  it('STRUCT_LAYOUTS describes every struct of the header, once, and every field of each', () => {
    const names = STRUCT_LAYOUTS.map((l) => l.name);
    assert.equal(new Set(names).size, names.length, 'no struct twice');
    assert.deepEqual([...names].sort(), Object.keys(header.sizes).sort());
    assert.deepEqual(
      [
        'mmaplab_config',
        'mmaplab_fill',
        'mmaplab_verify',
        'mmaplab_last_error',
        'mmaplab_stats',
        'mmaplab_page_info',
        'mmaplab_info',
        'mmaplab_store_page',
        'mmaplab_store',
        'mmaplab_module_counters',
        'mmaplab_device_dma',
        'mmaplab_shmem_pin',
        'mmaplab_dmabuf',
      ].sort(),
      Object.keys(header.sizes).sort(),
      'the addon exports every struct of the header',
    );
    for (const layout of STRUCT_LAYOUTS) {
      assert.equal(layout.size, header.sizes[layout.name], `sizeof(struct ${layout.name})`);
      const headerFields = Object.keys(header.offsets)
        .filter((k) => k.startsWith(`${layout.name}.`))
        .map((k) => k.slice(layout.name.length + 1));
      assert.deepEqual(Object.keys(layout.fields), headerFields, `fields of ${layout.name}, in declaration order`);
      let end = 0;
      for (const [name, field] of Object.entries(layout.fields)) {
        const key = `${layout.name}.${name}` as const;
        assert.equal(field.offset, header.offsets[key], `offsetof(${key})`);
        assert.equal(fieldBytes(field), header.fieldSizes[key], `sizeof(${key})`);
        assert.ok(field.offset >= end, `${key} does not overlap the field before it`);
        end = field.offset + fieldBytes(field);
      }
      assert.ok(end <= layout.size, `${layout.name}: fields end inside the struct`);
    }
    assert.equal(header.fieldSizes['mmaplab_last_error.text'], header.REASON_TEXT_LEN);
    assert.equal(describedConstants().REASON_TEXT_LEN, header.REASON_TEXT_LEN);
  });

  it('the new request numbers decode to STATS _IOR 4, INFO _IOWR 5, LAST_ERROR _IOR 6, FREE_WHILE_MAPPED _IO 7', () => {
    const want: [keyof NativeConstants['ioctl'], Direction, number, number][] = [
      ['CONFIGURE', 'write', 1, header.sizes.mmaplab_config],
      ['FILL', 'write', 2, header.sizes.mmaplab_fill],
      ['VERIFY', 'read-write', 3, header.sizes.mmaplab_verify],
      ['STATS', 'read', 4, header.sizes.mmaplab_stats],
      ['INFO', 'read-write', 5, header.sizes.mmaplab_info],
      ['LAST_ERROR', 'read', 6, header.sizes.mmaplab_last_error],
      ['FREE_WHILE_MAPPED', 'none', 7, 0],
      ['STORE', 'read-write', 8, header.sizes.mmaplab_store],
      ['FLUSH', 'none', 9, 0],
      ['COUNTERS', 'read', 10, header.sizes.mmaplab_module_counters],
      ['DEVICE_DMA', 'read-write', 11, header.sizes.mmaplab_device_dma],
      ['SHMEM_PIN', 'read-write', 12, header.sizes.mmaplab_shmem_pin],
      ['DMABUF', 'read-write', 13, header.sizes.mmaplab_dmabuf],
    ];
    assert.deepEqual(Object.keys(header.ioctl).sort(), want.map(([n]) => n).sort(), 'every request is exported');
    for (const [name, direction, nr, size] of want) {
      assert.deepEqual(decodeRequest(header.ioctl[name]), { direction, type: 0xb7, nr, size }, name);
      assert.equal(REQUESTS[name], header.ioctl[name], name);
    }
    assert.equal(header.sizes.mmaplab_stats, 136);
    assert.equal(header.sizes.mmaplab_config, 32);
    assert.equal(header.sizes.mmaplab_store, 80);
    assert.equal(header.sizes.mmaplab_store_page, 24);
    assert.equal(header.sizes.mmaplab_info, 64);
    assert.equal(header.sizes.mmaplab_page_info, 24);
    assert.equal(header.sizes.mmaplab_last_error, 104);
    assert.equal(header.sizes.mmaplab_module_counters, 32);
  });

  it("the enum tables are the header's: allocators, methods, caches and reasons, contiguous, with COUNT", () => {
    const tables: [string, Readonly<Record<string, number>>, number][] = [
      ['ALLOC', ALLOCS, 1],
      ['METHOD', METHODS, 1],
      ['CACHE', CACHES, 0],
      ['REASON', REASONS, 0],
      ['PATH', PATHS, 0],
    ];
    const enums = header.enums as Readonly<Record<string, number>>;
    for (const [prefix, table, first] of tables) {
      const fromHeader = Object.entries(enums)
        .filter(([k]) => k.startsWith(`${prefix}_`) && k !== `${prefix}_COUNT`)
        .map(([k, v]) => [
          k
            .slice(prefix.length + 1)
            .toLowerCase()
            .replaceAll('_', prefix === 'REASON' ? '-' : '_'),
          v,
        ]);
      assert.deepEqual(Object.fromEntries(fromHeader), { ...table }, `${prefix}_* by name`);
      const values = Object.values(table).sort((a, b) => a - b);
      assert.deepEqual(
        values,
        values.map((_, i) => first + i),
        `${prefix} values are ${first}..COUNT-1`,
      );
      assert.equal(enums[`${prefix}_COUNT`], first + values.length, `${prefix}_COUNT`);
    }
    // Names are listed in the reports' order, which is not the header's numeric order.
    assert.deepEqual(Object.keys(ALLOCS), [
      'kmalloc',
      'vmalloc',
      'vmalloc_user',
      'pages_array',
      'pages_comp',
      'pages_split',
      'pages_nocomp',
      'dma_coherent',
      'pci_bar',
      'dma_device',
      'shmem',
      'dma_pages',
    ]);
    assert.deepEqual(Object.keys(METHODS), [
      'remap_pfn_range',
      'remap_pfn_range_first_pfn',
      'fault_page',
      'fault_page_noref',
      'fault_virt_to_page',
      'vm_insert_page',
      'vm_insert_pages',
      'vm_map_pages',
      'remap_vmalloc_range',
      'vmf_insert_pfn',
      'vmf_insert_pfn_prot',
      'vmf_insert_mixed',
      'dma_mmap_coherent',
      'io_remap_pfn_range',
      'vm_iomap_memory',
      'dma_mmap_pages',
      'page_cache',
      'deferred_io',
      'deferred_io_keep_mapping',
    ]);
    assert.deepEqual(Object.keys(PATHS), [
      'none',
      'writeback',
      'background',
      'expiry',
      'sync',
      'reclaim',
      'fsync',
      'flush',
      'deferred',
      'periodic',
      'release',
    ]);
    assert.deepEqual(CACHE_NAMES, ['wb', 'wc', 'uc']);
    assert.deepEqual(REASON_NAMES, [
      'none',
      'bad-enum',
      'bad-size',
      'bad-flags',
      'combination',
      'cache',
      'fault-around',
      'hazard-disabled',
      'hazard-cap',
      'mapped',
      'not-configured',
      'range',
      'private',
      'nomem',
      'kernel',
      'freed',
      'timing',
      'no-store',
      'dirty',
      'not-owner',
      'no-device',
      'device-busy',
      'unpinned',
      'exported',
      'out-of-reach',
    ]);
    assert.deepEqual(ALLOC_NAMES, Object.keys(ALLOCS));
    assert.deepEqual(METHOD_NAMES, Object.keys(METHODS));
  });

  it("the flag bits (CF_*, INFO_*, PAGE_*) are the header's", () => {
    assert.deepEqual(describedConstants().flags, header.flags);
    assert.deepEqual(header.flags, {
      CF_FAULT_AROUND: 1,
      CF_RESERVED: 2,
      CF_RESERVED_KEPT: 4,
      CF_SPLITTABLE: 8,
      CF_ALL: 15,
      INFO_CONFIGURED: 1,
      INFO_CONTIGUOUS: 2,
      INFO_FREED: 4,
      INFO_SLAB: 8,
      INFO_UNPINNED: 16,
      PAGE_COMPOUND: 1,
      PAGE_HEAD: 2,
      PAGE_TAIL: 4,
      PAGE_SLAB: 8,
      PAGE_TYPED: 16,
      PAGE_RESERVED: 32,
      PAGE_NO_STRUCT_PAGE: 64,
    });
  });

  it('checkLayout() names a drifted flag, a reason layout.ts lacks and a drifted text length', () => {
    const count = (header.enums as Readonly<Record<string, number>>).REASON_COUNT as number;
    const drifted: NativeConstants = {
      ...header,
      REASON_TEXT_LEN: 128,
      flags: { ...header.flags, PAGE_TAIL: 0x80 },
      enums: { ...header.enums, REASON_COUNT: count + 1, ...({ REASON_NEW: count } as Record<string, number>) },
    };
    assert.deepEqual(checkLayout(drifted), [
      'REASON_TEXT_LEN: layout.ts 96, header 128',
      `enums.REASON_COUNT: layout.ts ${count}, header ${count + 1}`,
      'flags.PAGE_TAIL: layout.ts 4, header 128',
      `enums.REASON_NEW: layout.ts (missing), header ${count}`,
    ]);
  });

  it('mmaplab_config round-trips cache, flags, delay_ms and period_ms at their offsets', () => {
    const values = {
      alloc: 8,
      method: 11,
      size: 1n << 20n,
      flags: CONFIG_FLAGS.FAULT_AROUND,
      cache: CACHES.uc,
      delay_ms: 250,
      period_ms: 1000,
    };
    const bytes = encode(CONFIG_LAYOUT, values);
    const view = new DataView(bytes.buffer);
    const le = os.endianness() === 'LE';
    assert.equal(view.getUint32(offsetOf('mmaplab_config.flags'), le), header.flags.CF_FAULT_AROUND);
    assert.equal(view.getUint32(offsetOf('mmaplab_config.cache'), le), header.enums.CACHE_UC);
    assert.equal(view.getUint32(offsetOf('mmaplab_config.delay_ms'), le), 250);
    assert.equal(view.getUint32(offsetOf('mmaplab_config.period_ms'), le), 1000);
    assert.deepEqual(decode(CONFIG_LAYOUT, bytes), values);
  });

  it('mmaplab_info and mmaplab_page_info round-trip, s32 fields keep their sign', () => {
    const info = {
      alloc: 6,
      method: 3,
      size: 65536n,
      nr_pages: 16n,
      flags: INFO_FLAGS.CONFIGURED | INFO_FLAGS.CONTIGUOUS,
      cache: 1,
      config_flags: 1,
      mappings: 2,
      pages_ptr: 0n,
      pages_max: 16n,
      pages_filled: 16n,
    };
    const ib = encode(INFO_LAYOUT, info);
    assert.equal(ib.byteLength, header.sizes.mmaplab_info);
    assert.deepEqual(decode(INFO_LAYOUT, ib), info);
    const le = os.endianness() === 'LE';
    assert.equal(new DataView(ib.buffer).getBigUint64(offsetOf('mmaplab_info.pages_max'), le), 16n);

    const page = { pfn: 0xfff_ffff_ffffn, flags: PAGE_FLAGS.COMPOUND | PAGE_FLAGS.TAIL, refcount: 0, mapcount: -1, order: 0 };
    const pb = encode(PAGE_INFO_LAYOUT, page);
    assert.equal(new DataView(pb.buffer).getInt32(offsetOf('mmaplab_page_info.mapcount'), le), -1);
    assert.equal(new DataView(pb.buffer).getUint32(offsetOf('mmaplab_page_info.mapcount'), le), 0xffffffff);
    assert.deepEqual(decode(PAGE_INFO_LAYOUT, pb), page);
    const extremes = { ...page, refcount: -(2 ** 31), mapcount: 2 ** 31 - 1, order: 2 ** 32 - 1 };
    assert.deepEqual(decode(PAGE_INFO_LAYOUT, encode(PAGE_INFO_LAYOUT, extremes)), extremes);
    assertArgError(() => encode(PAGE_INFO_LAYOUT, { ...page, refcount: 2 ** 31 }));
    assertArgError(() => encode(PAGE_INFO_LAYOUT, { ...page, mapcount: -(2 ** 31) - 1 }));
    assertArgError(() => encode(PAGE_INFO_LAYOUT, { ...page, mapcount: 0.5 }));
  });

  it('the decoded info and page objects name every flag bit', () => {
    const base = {
      alloc: 0,
      method: 0,
      size: 0n,
      nr_pages: 0n,
      flags: 0,
      cache: 0,
      config_flags: 0,
      mappings: 0,
      pages_ptr: 0n,
      pages_max: 0n,
      pages_filled: 0n,
    };
    assert.deepEqual(infoFromStruct(base), {
      alloc: null,
      method: null,
      size: 0n,
      nrPages: 0n,
      configured: false,
      contiguous: false,
      freed: false,
      slab: false,
      unpinned: false,
      cache: 'wb',
      faultAround: false,
      reserved: null,
      splittable: false,
      mappings: 0,
    });
    const all = infoFromStruct({
      ...base,
      alloc: 3,
      method: 7,
      size: 8192n,
      nr_pages: 2n,
      flags: 31,
      cache: 2,
      config_flags: 1,
      mappings: 3,
    });
    assert.deepEqual(all, {
      alloc: 'kmalloc',
      method: 'vm_insert_page',
      size: 8192n,
      nrPages: 2n,
      configured: true,
      contiguous: true,
      freed: true,
      slab: true,
      unpinned: true,
      cache: 'uc',
      faultAround: true,
      reserved: null,
      splittable: false,
      mappings: 3,
    });
    assert.equal(infoFromStruct({ ...base, config_flags: 8 }).splittable, true);
    assert.equal(infoFromStruct({ ...base, config_flags: 2 }).reserved, 'cleared');
    assert.equal(infoFromStruct({ ...base, config_flags: 4 }).reserved, 'kept');
    assert.equal(infoFromStruct({ ...base, alloc: 99, cache: 99 }).alloc, null);
    assert.equal(infoFromStruct({ ...base, alloc: 99, cache: 99 }).cache, null);
    const bits = ['compound', 'head', 'tail', 'slab', 'typed', 'reserved', 'noStructPage'] as const;
    bits.forEach((bit, i) => {
      const p = pageInfoFromStruct({ pfn: 5n, flags: 1 << i, refcount: 1, mapcount: 0, order: 0 });
      for (const other of bits) assert.equal(p[other], other === bit, `flag bit ${i} is ${bit} only`);
    });
    assert.deepEqual(pageInfoFromStruct({ pfn: 7n, flags: 0x80 | 3, refcount: 3, mapcount: -1, order: 2 }), {
      pfn: 7n,
      compound: true,
      head: true,
      tail: false,
      slab: false,
      typed: false,
      reserved: false,
      noStructPage: false,
      refcount: 3,
      mapcount: -1,
      order: 2,
      flags: 0x83,
    });
  });

  it('mmaplab_stats round-trips full 64-bit counters as bigints', () => {
    const names = Object.keys(STATS_LAYOUT.fields) as (keyof StatsStruct)[];
    const values = Object.fromEntries(names.map((n, i) => [n, (1n << BigInt(60 + (i % 4))) + BigInt(i)])) as StatsStruct;
    values.write_bytes = 2n ** 64n - 1n;
    const bytes = encode(STATS_LAYOUT, values);
    assert.equal(bytes.byteLength, header.sizes.mmaplab_stats);
    const decoded = decode(STATS_LAYOUT, bytes);
    assert.deepEqual(decoded, values);
    assert.deepEqual(statsFromStruct(decoded), {
      faults: values.faults,
      mapPagesCalls: values.map_pages_calls,
      pagesMapped: values.pages_mapped,
      vmaOpens: values.vma_opens,
      vmaCloses: values.vma_closes,
      readCalls: values.read_calls,
      readBytes: values.read_bytes,
      writeCalls: values.write_calls,
      writeBytes: 2n ** 64n - 1n,
      readFolioCalls: values.read_folio_calls,
      writebackCalls: values.writeback_calls,
      pagesWritten: values.pages_written,
      batches: values.batches,
      mkwriteFaults: values.mkwrite_faults,
      periodicRuns: values.periodic_runs,
      flushLatencyLastNs: values.flush_latency_last_ns,
      flushLatencyMaxNs: values.flush_latency_max_ns,
    });
  });

  it('mmaplab_last_error round-trips; text is NUL-terminated and fits REASON_TEXT_LEN', () => {
    const text = 'remap_vmalloc_range needs VM_USERMAP memory (vmalloc_user)';
    const values = { error: -22, reason: REASONS.combination, text };
    const bytes = encode(LAST_ERROR_LAYOUT, values);
    const off = offsetOf('mmaplab_last_error.text');
    const le = os.endianness() === 'LE';
    assert.equal(new DataView(bytes.buffer).getInt32(offsetOf('mmaplab_last_error.error'), le), -22);
    assert.equal(Buffer.from(bytes.subarray(off, off + text.length)).toString('latin1'), text);
    assert.ok(
      bytes.subarray(off + text.length).every((b) => b === 0),
      'NUL-terminated, zero-padded',
    );
    assert.deepEqual(decode(LAST_ERROR_LAYOUT, bytes), values);
    assert.deepEqual(lastErrorFromStruct(values), { errno: -22, code: 'EINVAL', reason: 'combination', text });

    const longest = 'x'.repeat(header.REASON_TEXT_LEN - 1);
    assert.equal(decode(LAST_ERROR_LAYOUT, encode(LAST_ERROR_LAYOUT, { ...values, text: longest })).text, longest);
    assertArgError(() => encode(LAST_ERROR_LAYOUT, { ...values, text: longest + 'x' }));
    assertArgError(() => encode(LAST_ERROR_LAYOUT, { ...values, text: 'a\0b' }));
    assertArgError(() => encode(LAST_ERROR_LAYOUT, { ...values, text: 5 as never }));
    assertArgError(() => encode(LAST_ERROR_LAYOUT, { ...values, error: 2 ** 31 }));
    assert.equal(decode(LAST_ERROR_LAYOUT, encode(LAST_ERROR_LAYOUT, { ...values, text: 'é ü' })).text, 'é ü');

    // What the kernel may hand back: garbage after the NUL, or no NUL at all.
    const raw = encode(LAST_ERROR_LAYOUT, { ...values, text: 'short' });
    raw.fill(0x41, off + 6);
    assert.equal(decode(LAST_ERROR_LAYOUT, raw).text, 'short');
    raw.fill(0x42, off);
    assert.equal(decode(LAST_ERROR_LAYOUT, raw).text, 'B'.repeat(header.REASON_TEXT_LEN), 'never past the array');
    assert.deepEqual(lastErrorFromStruct({ error: 0, reason: 0, text: '' }), {
      errno: 0,
      code: null,
      reason: 'none',
      text: '',
    });
    assert.equal(lastErrorFromStruct({ error: -524, reason: 14, text: '' }).code, 'ENOTSUPP');
    assert.equal(lastErrorFromStruct({ error: -22, reason: 99, text: '' }).reason, null);
  });

  it('errnoName() names errnos as the addon does, kernel-internal ones too', () => {
    assert.equal(errnoName(22), 'EINVAL');
    assert.equal(errnoName(-22), 'EINVAL');
    assert.equal(errnoName(-11), 'EAGAIN');
    assert.equal(errnoName(-95), 'EOPNOTSUPP');
    assert.equal(errnoName(-35), 'EDEADLK');
    assert.equal(errnoName(-25), 'ENOTTY');
    assert.equal(errnoName(-517), 'EPROBE_DEFER');
    assert.equal(errnoName(-524), 'ENOTSUPP');
    assert.equal(errnoName(0), null);
    assert.equal(errnoName(-4000), null);
    assert.equal(errnoName(1.5), null);
    // The addon's own names (strerrorname_np) for the aliases.
    const fd = native().open('/dev/null', nativeConstants().sys.O_RDONLY);
    try {
      const err = thrown(() => native().ioctl(fd, nativeConstants().ioctl.CONFIGURE, new Uint8Array(32)));
      assert.ok(isSyscallError(err));
      assert.equal(errnoName(err.errno), err.code);
    } finally {
      native().close(fd);
    }
  });

  it('the addon is found from the package root, three levels above dist/lib/device', () => {
    assert.equal(packageRoot(), path.resolve(__dirname, '../../..'));
  });
});

describe("device errors: system-call failures look like Node's own", () => {
  it('open of a missing path throws ENOENT with syscall open, the path and errno -2', () => {
    const err = assertSyscallError(() => Device.open('/nonexistent'), 'ENOENT', 'open');
    assert.equal(err.errno, -2);
    assert.equal(err.path, '/nonexistent');
    assert.equal(err.message, "ENOENT: no such file or directory, open '/nonexistent'");
    assert.ok(!(err instanceof MmaplabError), 'native errors are re-thrown unchanged');
  });

  it('ioctl CONFIGURE on /dev/null is refused with ENOTTY from ioctl', () => {
    const fd = native().open('/dev/null', nativeConstants().sys.O_RDWR);
    try {
      assertSyscallError(() => native().ioctl(fd, nativeConstants().ioctl.CONFIGURE, new Uint8Array(32)), 'ENOTTY', 'ioctl');
    } finally {
      native().close(fd);
    }
  });

  it('configure, fill and verify on a file that is not the device throw ENOTTY', () => {
    const dev = Device.open('/dev/null');
    try {
      assertSyscallError(() => dev.configure({ alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 4096 }), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.fill(1), 'ENOTTY', 'ioctl');
      assertSyscallError(() => dev.verify(1), 'ENOTTY', 'ioctl');
    } finally {
      dev.close();
    }
  });

  it('close of a closed fd throws EBADF from close', () => {
    const fd = native().open('/dev/null', nativeConstants().sys.O_RDONLY);
    native().close(fd);
    assertSyscallError(() => native().close(fd), 'EBADF', 'close');
  });
});

describe('device API misuse is caught on the TypeScript side with MmaplabError', () => {
  it('an unknown allocator or method, or a bad size, throws ERR_INVALID_ARG before any ioctl', () => {
    const dev = Device.open('/dev/null');
    try {
      const opts = { alloc: 'vmalloc_user', method: 'fault_page', size: 4096 } as const;
      assertArgError(() => dev.configure({ ...opts, alloc: 'slab' as never }));
      assertArgError(() => dev.configure({ ...opts, alloc: 'toString' as never }));
      assertArgError(() => dev.configure({ ...opts, method: 'vm_insert_pfn' as never }));
      assertArgError(() => dev.configure({ ...opts, cache: 'wt' as never }));
      assertArgError(() => dev.configure({ ...opts, cache: 'constructor' as never }));
      assertArgError(() => dev.configure({ ...opts, faultAround: 1 as never }));
      assertArgError(() => dev.configure({ ...opts, size: -4096 }));
      assertArgError(() => dev.configure({ ...opts, size: 1.5 }));
      assertArgError(() => dev.fill(-1));
      assertArgError(() => dev.verify(2 ** 32));
      assertArgError(() => dev.map({ length: 4096, prot: 'w' as never }));
      assertArgError(() => Device.open('/dev/null', { access: 'w' as never }));
    } finally {
      dev.close();
    }
  });

  it('a closed device throws ERR_DEVICE_CLOSED, and close() twice is harmless', () => {
    const dev = Device.open('/dev/null');
    dev.close();
    assert.equal(dev.closed, true);
    dev.close();
    assertDeviceError(() => dev.fd, 'ERR_DEVICE_CLOSED');
    assertDeviceError(() => dev.fill(1), 'ERR_DEVICE_CLOSED');
    assertDeviceError(() => dev.map({ length: 4096 }), 'ERR_DEVICE_CLOSED');
  });
});

describe('device mappings (of /dev/zero): one ArrayBuffer per mapping, detached on unmap', () => {
  let dev: Device;
  let page: number;
  beforeEach(() => {
    dev = Device.open('/dev/zero');
    page = nativeConstants().PAGE_SIZE;
  });
  afterEach(() => dev.close());

  it('a MAP_PRIVATE mapping is one zero-filled ArrayBuffer of the length asked, readable and writable', () => {
    const m = dev.map({ length: 3 * page, private: true });
    assert.ok(m.buffer instanceof ArrayBuffer);
    assert.equal(m.buffer, m.buffer, 'the same ArrayBuffer every time');
    assert.equal(m.buffer.byteLength, 3 * page);
    assert.equal(m.length, 3 * page);
    assert.equal(m.unmapped, false);
    assert.ok(new Uint8Array(m.buffer).every((b) => b === 0));
    writePattern(m.buffer, 0xabcdef);
    assert.equal(checkPattern(m.buffer, 0xabcdef), null);
    assert.equal(checkPattern(new Uint32Array(m.buffer), 0xabcdef), null);
    m.unmap();
  });

  it('a mapping outlives close() of its file', () => {
    const m = dev.map({ length: page, private: true });
    dev.close();
    new Uint8Array(m.buffer)[page - 1] = 0x5a;
    assert.equal(new Uint8Array(m.buffer)[page - 1], 0x5a);
    m.unmap();
  });

  it('unmap() detaches the buffer: views left behind have length 0 and unmapped is true', () => {
    const m = dev.map({ length: 2 * page, private: true, populate: true });
    const bytes = new Uint8Array(m.buffer);
    const words = new Uint32Array(m.buffer, page);
    const view = new DataView(m.buffer);
    bytes[0] = 1;
    m.unmap();
    assert.equal(m.unmapped, true);
    assert.equal(m.buffer.byteLength, 0);
    assert.equal(bytes.length, 0);
    assert.equal(words.length, 0);
    assert.equal(bytes[0], undefined, 'reads past a detached view are undefined, not a fault');
    assert.throws(() => view.getUint8(0), TypeError);
  });

  it('a second unmap() is a no-op; msync, mprotect, madvise, mincore after unmap throw EALREADY', () => {
    const m = dev.map({ length: page, private: true });
    m.unmap();
    m.unmap();
    native().munmap(m.buffer);
    assertSyscallError(() => m.msync(), 'EALREADY', 'msync');
    assertSyscallError(() => m.protect('r'), 'EALREADY', 'mprotect');
    assertSyscallError(() => m.advise('dontneed'), 'EALREADY', 'madvise');
    assertSyscallError(() => m.residentPages(), 'EALREADY', 'mincore');
    assertSyscallError(() => m.remap(2 * page), 'EALREADY', 'mremap');
    assertSyscallError(() => m.unmapRange({ offset: 0, length: page }), 'EALREADY', 'munmap');
  });

  it('msync (sync, async, invalidate) succeeds on a live shared mapping', () => {
    const m = dev.map({ length: page });
    new Uint8Array(m.buffer)[0] = 9;
    m.msync();
    m.msync({ mode: 'async' });
    m.msync({ invalidate: true });
    assertArgError(() => m.msync({ mode: 'later' as never }));
    m.unmap();
  });

  it('a read-only mapping can be read', () => {
    const m = dev.map({ length: page, prot: 'r', private: true });
    assert.equal(m.prot, 'r');
    assert.equal(new Uint8Array(m.buffer)[100], 0);
    m.unmap();
  });

  it('mmap at a non-zero offset records the offset', () => {
    const m = dev.map({ length: page, private: true, offset: 4 * page });
    assert.equal(m.offset, 4 * page);
    m.unmap();
  });

  it('length 0 or an unaligned offset is a RangeError; the kernel refuses a huge length or a bad fd', () => {
    assertArgError(() => dev.map({ length: 0, private: true }), 'ERR_OUT_OF_RANGE');
    assertArgError(() => dev.map({ length: page, offset: 100, private: true }), 'ERR_OUT_OF_RANGE');
    const sys0 = nativeConstants().sys;
    assertArgError(() => native().mmap(dev.fd, 0, sys0.PROT_READ, sys0.MAP_PRIVATE, 0), 'ERR_OUT_OF_RANGE');
    assertArgError(() => native().mmap(dev.fd, page, sys0.PROT_READ, sys0.MAP_PRIVATE, 1), 'ERR_OUT_OF_RANGE');
    const huge = thrown(() => dev.map({ length: Number.MAX_SAFE_INTEGER, private: true }));
    assert.ok(isSyscallError(huge) && ['ENOMEM', 'EINVAL'].includes(huge.code), String(huge));
    const sys = nativeConstants().sys;
    assertSyscallError(() => native().mmap(-1, page, sys.PROT_READ, sys.MAP_PRIVATE, 0), 'EBADF', 'mmap');
  });

  it('two thousand map/write/unmap cycles (the kernel reuses the addresses) stay correct', () => {
    for (let i = 0; i < 2000; i++) {
      const m = dev.map({ length: page, private: true });
      const words = new Uint32Array(m.buffer);
      assert.equal(words[7], 0, `cycle ${i}: fresh private /dev/zero memory is zero`);
      words[7] = i;
      m.unmap();
    }
  });

  it('mappings dropped without unmap() are unmapped by the finalizer after GC (child with --expose-gc)', function () {
    this.timeout(60_000);
    const r = runChild(`
      const { Device } = require(${JSON.stringify(DEVICE_MODULE)});
      const fs = require('fs');
      const vmSize = () => Number(/VmSize:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        const LEN = 64 << 20, N = 32;
        const dev = Device.open('/dev/zero');
        const before = vmSize();
        for (let i = 0; i < N; i++) new Uint8Array(dev.map({ length: LEN, private: true }).buffer)[i * 4096] = 1;
        const mapped = vmSize();
        let after = mapped;
        for (let round = 0; round < 20 && after > before + (LEN * N) / 4; round++) {
          global.gc();
          await tick();
          await tick();
          after = vmSize();
        }
        dev.close();
        process.stdout.write(JSON.stringify({ total: LEN * N, before, mapped, after }));
      })().catch((err) => { console.error(err); process.exit(1); });
    `);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { total: number; before: number; mapped: number; after: number };
    assert.ok(v.mapped - v.before >= v.total, `mapped ${v.mapped - v.before} of ${v.total} bytes`);
    assert.ok(v.after - v.before < v.total / 4, `still mapped after GC: ${v.after - v.before} bytes`);
  });

  it('the finalizer of an unmapped buffer leaves a newer mapping at the same address alone', function () {
    this.timeout(60_000);
    // If the old buffer's finalizer unmapped again, touching the new mapping
    // would kill the child with SIGSEGV.
    const r = runChild(`
      const { Device } = require(${JSON.stringify(DEVICE_MODULE)});
      const fs = require('fs');
      const LEN = (5 << 20) + 3 * 4096;
      const regions = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
        .map((line) => line.split(' ')[0]).filter((r) => {
          const [a, b] = (r || '0-0').split('-').map((x) => parseInt(x, 16));
          return b - a === LEN;
        });
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        const dev = Device.open('/dev/zero');
        let old = dev.map({ length: LEN, private: true });
        let oldView = new Uint8Array(old.buffer);
        oldView[0] = 1;
        const oldRegions = regions();
        old.unmap();
        const fresh = dev.map({ length: LEN, private: true });
        const sameAddress = regions().some((r) => oldRegions.includes(r));
        new Uint8Array(fresh.buffer).fill(7);
        old = null;
        oldView = null;
        for (let i = 0; i < 5; i++) { global.gc(); await tick(); await tick(); }
        const v = new Uint8Array(fresh.buffer);
        let sum = 0;
        for (let i = 0; i < LEN; i += 4096) sum += v[i];
        fresh.unmap();
        dev.close();
        process.stdout.write(JSON.stringify({ sameAddress, intact: sum === 7 * (LEN / 4096) }));
      })().catch((err) => { console.error(err); process.exit(1); });
    `);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { sameAddress: true, intact: true });
  });

  it('a process exiting with live and unmapped mappings exits cleanly', function () {
    this.timeout(60_000);
    const r = runChild(`
      const { Device } = require(${JSON.stringify(DEVICE_MODULE)});
      const dev = Device.open('/dev/zero');
      const keep = [];
      for (let i = 0; i < 10; i++) keep.push(dev.map({ length: 1 << 20, private: !(i % 2 === 0) }));
      keep[3].unmap();
      new Uint8Array(keep[4].buffer)[0] = 1;
      process.stdout.write('done');
    `);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'done');
  });
});

describe('addon misuse throws TypeError with an ERR_ code, never crashes', () => {
  type Loose = Record<string, (...args: unknown[]) => unknown>;
  let addon: Loose;
  let fd: number;
  let page: number;
  let CONFIGURE: number;
  before(() => {
    addon = native() as unknown as Loose;
    fd = native().open('/dev/zero', nativeConstants().sys.O_RDWR);
    page = nativeConstants().PAGE_SIZE;
    CONFIGURE = nativeConstants().ioctl.CONFIGURE;
  });
  after(() => native().close(fd));

  const call =
    (name: string, ...args: unknown[]) =>
    () =>
      addon[name]?.(...args);

  it('open: missing, non-string, NUL-containing path; non-integer flags or mode', () => {
    assertTypeError('open()', call('open'));
    assertTypeError('open(path)', call('open', '/dev/null'));
    assertTypeError('open(1, 0)', call('open', 1, 0));
    assertTypeError('open(Buffer)', call('open', Buffer.from('/dev/null'), 0));
    assertTypeError('open(NUL)', call('open', '/dev/null\0x', 0));
    assertTypeError("open(p, '0')", call('open', '/dev/null', '0'));
    assertTypeError('open(p, 1.5)', call('open', '/dev/null', 1.5));
    assertTypeError('open(p, 2**31)', call('open', '/dev/null', 2 ** 31));
    assertTypeError('open(p, 0n)', call('open', '/dev/null', 0n));
    assertTypeError('open(p, 0, -1)', call('open', '/dev/null', 0, -1));
    assertTypeError('open(p, 0, {})', call('open', '/dev/null', 0, {}));
  });

  it('close: missing, non-number, fractional, NaN, out-of-range fd', () => {
    assertTypeError('close()', call('close'));
    assertTypeError("close('3')", call('close', '3'));
    assertTypeError('close(1.5)', call('close', 1.5));
    assertTypeError('close(NaN)', call('close', NaN));
    assertTypeError('close(2**40)', call('close', 2 ** 40));
    assertTypeError('close(null)', call('close', null));
  });

  it('ioctl: bad request number; argument not a Uint8Array, shorter than the request size, or detached', () => {
    assertTypeError('ioctl()', call('ioctl'));
    assertTypeError('ioctl(fd, -1)', call('ioctl', fd, -1, new Uint8Array(24)));
    assertTypeError('ioctl(fd, 2**32)', call('ioctl', fd, 2 ** 32, new Uint8Array(24)));
    assertTypeError("ioctl('x')", call('ioctl', 'x', CONFIGURE, new Uint8Array(24)));
    assertTypeError('ioctl(Uint16Array)', call('ioctl', fd, CONFIGURE, new Uint16Array(12)));
    assertTypeError('ioctl(ArrayBuffer)', call('ioctl', fd, CONFIGURE, new ArrayBuffer(24)));
    assertTypeError('ioctl(DataView)', call('ioctl', fd, CONFIGURE, new DataView(new ArrayBuffer(24))));
    assertTypeError('ioctl(null)', call('ioctl', fd, CONFIGURE, null));
    assertTypeError('ioctl(short)', call('ioctl', fd, CONFIGURE, new Uint8Array(31)));
    const arg = new Uint8Array(32);
    structuredClone(arg.buffer, { transfer: [arg.buffer] });
    assertTypeError('ioctl(detached)', call('ioctl', fd, CONFIGURE, arg));
  });

  it('mmap: negative, fractional, NaN, infinite, unsafe or bigint length or offset; non-number fd/prot/flags', () => {
    const sys = nativeConstants().sys;
    const P = sys.PROT_READ;
    const F = sys.MAP_PRIVATE;
    assertTypeError('mmap()', call('mmap'));
    assertTypeError('mmap(fd, len)', call('mmap', fd, page));
    assertTypeError('length -1', call('mmap', fd, -1, P, F, 0));
    assertTypeError('length 1.5', call('mmap', fd, 1.5, P, F, 0));
    assertTypeError('length NaN', call('mmap', fd, NaN, P, F, 0));
    assertTypeError('length Infinity', call('mmap', fd, Infinity, P, F, 0));
    assertTypeError('length 2**53', call('mmap', fd, 2 ** 53, P, F, 0));
    assertTypeError('length bigint', call('mmap', fd, 4096n, P, F, 0));
    assertTypeError('length string', call('mmap', fd, '4096', P, F, 0));
    assertTypeError('offset -4096', call('mmap', fd, page, P, F, -4096));
    assertTypeError('offset 0.5', call('mmap', fd, page, P, F, 0.5));
    assertTypeError('offset undefined', call('mmap', fd, page, P, F, undefined));
    assertTypeError("fd '3'", call('mmap', String(fd), page, P, F, 0));
    assertTypeError("prot 'rw'", call('mmap', fd, page, 'rw', F, 0));
    assertTypeError('flags {}', call('mmap', fd, page, P, {}, 0));
  });

  it('munmap and msync: anything but a live buffer from mmap()', () => {
    const sys = nativeConstants().sys;
    const ab = native().mmap(fd, page, sys.PROT_READ | sys.PROT_WRITE, sys.MAP_PRIVATE, 0);
    try {
      assertTypeError('munmap()', call('munmap'));
      assertTypeError('munmap(null)', call('munmap', null));
      assertTypeError('munmap({})', call('munmap', {}));
      assertTypeError('munmap(ArrayBuffer)', call('munmap', new ArrayBuffer(page)));
      assertTypeError('munmap(SharedArrayBuffer)', call('munmap', new SharedArrayBuffer(page)));
      assertTypeError('munmap(view)', call('munmap', new Uint8Array(ab)));
      assertTypeError('msync()', call('msync'));
      assertTypeError('msync(ArrayBuffer)', call('msync', new ArrayBuffer(page), sys.MS_SYNC));
      assertTypeError("msync(ab, 'sync')", call('msync', ab, 'sync'));
      assertTypeError('msync(ab)', call('msync', ab));
      assertSyscallError(() => native().msync(ab, 0x7fff), 'EINVAL', 'msync');
      assert.equal(ab.byteLength, page, 'failed calls left the mapping alone');
      new Uint8Array(ab)[0] = 1;
    } finally {
      native().munmap(ab);
    }
    assert.equal(ab.byteLength, 0);
  });

  it('constants() ignores extra arguments and returns a fresh object each call', () => {
    const a = native().constants();
    const b = (addon.constants?.(1, 'x', {}) ?? null) as NativeConstants | null;
    assert.notEqual(a, b);
    assert.deepEqual(a, b);
  });
});
