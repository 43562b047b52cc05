/**
 * How writes made through a shared mapping reach a device's backing store:
 * for the page-cache and deferred-I/O methods (and a plain vmalloc
 * mapping as the control), write a pattern through the mapping, apply one
 * trigger (msync, munmap, close, fsync, sync, writeback expiry, ...) and
 * watch the store until every page arrived or a bound passed. Everything
 * reported is what the store recorded: which pages arrived, when (the
 * kernel's CLOCK_MONOTONIC, the same clock as process.hrtime), by which
 * path, and whether the bytes are the ones written.
 *
 * Runs where /dev/mmaplab is: inside a guest, or on a lab machine.
 */
import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Device, type DeviceStats } from '../device/device';
import type { Mapping } from '../device/mapping';
import { nativeConstants } from '../device/native';
import { checkPattern } from '../device/pattern';
import type { StoreSnapshot } from '../device/store';
import { FsyncHelper } from './fsync-helper';
import type { PressureReady } from './pressure-child';
import { memoryCgroup } from '../util/cgroup';
import { CHILD_START_TIMEOUT_MS, running, sendIfAlive } from '../util/child';

export const MEASURED_FILE_METHODS = ['page_cache', 'deferred_io', 'control'] as const;
export type FileMethod = (typeof MEASURED_FILE_METHODS)[number];

/**
 * - none: nothing; wait.
 * - msync-async / msync-sync: msync(MS_ASYNC) / msync(MS_SYNC) of the mapping.
 * - munmap: munmap the mapping, keep the file open.
 * - close: munmap and close the device file (the session's last reference).
 * - fsync-other-fd: another process fsync()s a descriptor it inherited for the same open file.
 * - sync: sync(1).
 * - flush: the device's own FLUSH ioctl.
 * - expiry: vm.dirty_expire_centisecs / dirty_writeback_centisecs set low for the cell.
 * - pressure: the writer, alone in a memory-limited cgroup, allocates until reclaim (or
 *   the OOM killer) acts; the store is watched while the mapping still exists.
 * - deferred: deferred I/O with a short delay (its own flush).
 * - periodic: page cache with the module's periodic kernel-side sync.
 */
export const TRIGGERS = [
  'none',
  'msync-async',
  'msync-sync',
  'munmap',
  'close',
  'fsync-other-fd',
  'sync',
  'flush',
  'expiry',
  'pressure',
  'deferred',
  'periodic',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Which triggers mean something for which method. */
export const TRIGGERS_OF: Readonly<Record<FileMethod, readonly Trigger[]>> = {
  page_cache: TRIGGERS.filter((t) => t !== 'deferred'),
  deferred_io: TRIGGERS.filter((t) => t !== 'periodic' && t !== 'expiry' && t !== 'pressure'),
  // The mapping is the buffer itself: there is nothing to trigger.
  control: ['none'],
};

/** Knobs of one measurement; the defaults are what the guest suite uses. */
export interface TriggerOptions {
  /** Buffer size in bytes (default 64 KiB: 16 pages). */
  size?: number;
  /** How long to wait for the pages (ms). */
  boundMs?: number;
  /**
   * The wait for 'expiry'. Lowering dirty_writeback_centisecs does not
   * re-arm a flusher timer that an earlier dirtying armed at the old
   * interval (5 s by default): measured, the pages then arrive ~5 s after
   * the writes instead of ~1 s. The bound covers both.
   */
  expiryBoundMs?: number;
  /** The deferred-I/O delay when the trigger is 'deferred' (ms); other deferred-I/O cells use the longest. */
  deferMs?: number;
  /** The period of the 'periodic' trigger (ms). */
  periodMs?: number;
  /** For 'expiry': dirty_expire_centisecs and dirty_writeback_centisecs while the cell runs. */
  expireCentisecs?: number;
  writebackCentisecs?: number;
}

export const TRIGGER_DEFAULTS: Required<TriggerOptions> = {
  size: 64 * 1024,
  boundMs: 3000,
  expiryBoundMs: 8000,
  deferMs: 50,
  periodMs: 100,
  expireCentisecs: 100,
  writebackCentisecs: 50,
};

/** The longest deferred-I/O delay the module takes: long enough not to mask the other triggers. */
export const DEFER_MS_MAX = 10_000;

/** A measurement and a kernel's measurements travel as JSON: ./files-schema defines them. */
export type { KernelFiles, TriggerResult } from './files-schema';
import type { TriggerResult } from './files-schema';

const SEED_BEFORE = 0x5eed0001;
const SEED_WRITTEN = 0x5eed0002;
const POLL_MS = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readSysctl(name: string): string {
  return fs.readFileSync(`/proc/sys/vm/${name}`, 'utf8').trim();
}

function writeSysctl(name: string, value: string): void {
  fs.writeFileSync(`/proc/sys/vm/${name}`, value);
}

function runSync(): void {
  const r = spawnSync('sync', [], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`sync failed: ${r.error?.message ?? r.stderr.trim()}`);
}

/** A result with nothing measured yet. */
function emptyResult(method: FileMethod, trigger: Trigger, pages: number): TriggerResult {
  return {
    method,
    trigger,
    pages,
    arrived: 0,
    firstMs: null,
    lastMs: null,
    paths: {},
    intact: true,
    readWriteCalls: 0,
    batches: 0,
    mkwriteFaults: 0,
    pagesWritten: 0,
    note: null,
    error: null,
  };
}

/** For 'expiry': the writeback sysctls set low for the cell; returns their old values, to restore. */
function lowerWritebackTimes(o: Required<TriggerOptions>): [string, string][] {
  const saved: [string, string][] = [];
  saved.push(['dirty_expire_centisecs', readSysctl('dirty_expire_centisecs')]);
  saved.push(['dirty_writeback_centisecs', readSysctl('dirty_writeback_centisecs')]);
  writeSysctl('dirty_expire_centisecs', String(o.expireCentisecs));
  writeSysctl('dirty_writeback_centisecs', String(o.writebackCentisecs));
  return saved;
}

/** One method x trigger under way: its settings, its result, and what the end must release. */
interface Measurement {
  method: FileMethod;
  trigger: Trigger;
  o: Required<TriggerOptions>;
  devicePath: string | undefined;
  pageSize: number;
  result: TriggerResult;
  dev: Device;
  /** 'close': the descriptor the closed session's store is read through. */
  reader: Device | null;
  mapping: Mapping | null;
  helper: FsyncHelper | null;
}

function readWriteCallsSince(before: DeviceStats, after: DeviceStats): number {
  return Number(after.readCalls - before.readCalls + (after.writeCalls - before.writeCalls));
}

/** The method's buffer: vmalloc memory, with the deferred-I/O delay or periodic sync the trigger needs. */
function configureFor(m: Measurement): void {
  const { method, trigger, o } = m;
  m.dev.configure({
    alloc: method === 'page_cache' ? 'vmalloc' : 'vmalloc_user',
    method: method === 'control' ? 'remap_vmalloc_range' : method,
    size: o.size,
    ...(method === 'deferred_io' ? { deferMs: trigger === 'deferred' ? o.deferMs : DEFER_MS_MAX } : {}),
    ...(trigger === 'periodic' ? { syncPeriodMs: o.periodMs } : {}),
  });
}

/** The control: the mapping is the buffer, so the writes are there at once or never. */
function checkControl(m: Measurement, before: DeviceStats): void {
  const { dev, result } = m;
  const { pages } = result;
  const v = dev.verify(SEED_WRITTEN);
  result.arrived = v.ok ? pages : 0;
  result.intact = v.ok;
  result.firstMs = result.lastMs = v.ok ? 0 : null;
  result.paths = v.ok ? { direct: pages } : {};
  result.readWriteCalls = readWriteCallsSince(before, dev.stats());
}

/** Applies the trigger; returns the device to read the store through (a new descriptor after 'close'). */
async function applyTrigger(m: Measurement, mapping: Mapping, before: DeviceStats, t0: bigint): Promise<Device> {
  const { dev, result } = m;
  switch (m.trigger) {
    case 'msync-async':
      mapping.msync({ mode: 'async' });
      break;
    case 'msync-sync':
      mapping.msync({ mode: 'sync' });
      break;
    case 'munmap':
      mapping.unmap();
      break;
    case 'close': {
      result.readWriteCalls = readWriteCallsSince(before, dev.stats());
      mapping.unmap();
      dev.close();
      m.reader = Device.open(m.devicePath);
      return m.reader;
    }
    case 'fsync-other-fd': {
      const ran = await (m.helper as FsyncHelper).fsync();
      result.triggerMs = { start: Number(ran.startNs - t0) / 1e6, end: Number(ran.endNs - t0) / 1e6 };
      break;
    }
    case 'sync':
      runSync();
      break;
    case 'flush':
      dev.flush();
      break;
    default:
      break;
  }
  return dev;
}

/** Polls the store until every page arrived after t0 or the deadline passed; the last snapshot. */
async function waitForArrivals(read: () => StoreSnapshot, t0: bigint, pages: number, deadline: bigint): Promise<StoreSnapshot> {
  let snap: StoreSnapshot;
  for (;;) {
    snap = read();
    const arrived = snap.pages.filter((p) => p.arrivedNs !== null && p.arrivedNs >= t0).length;
    if (arrived === pages || process.hrtime.bigint() >= deadline) break;
    await sleep(POLL_MS);
  }
  return snap;
}

/** What the store and the device's counters show, into the result. */
function recordOutcome(m: Measurement, source: Device, snap: StoreSnapshot, id: bigint, t0: bigint, before: DeviceStats): void {
  const { trigger, o, result } = m;
  const data = source.store({ ...(trigger === 'close' ? { id } : {}), data: true, pages: false }).data;
  recordArrivals(result, snap, data, t0, m.pageSize);
  const late = lateTrigger(result, snap, t0);
  if (late !== null) result.error = late;
  if (trigger === 'expiry') {
    result.note = `dirty_expire_centisecs ${o.expireCentisecs}, dirty_writeback_centisecs ${o.writebackCentisecs}`;
  }
  if (trigger !== 'close') {
    const after = m.dev.stats();
    result.readWriteCalls = readWriteCallsSince(before, after);
    result.batches = Number(after.batches - before.batches);
    result.mkwriteFaults = Number(after.mkwriteFaults - before.mkwriteFaults);
    result.pagesWritten = Number(after.pagesWritten - before.pagesWritten);
  } else {
    result.batches = Number(snap.batches);
  }
}

/**
 * The measurement itself: the buffer filled and mapped, every page faulted
 * in by a read, the pattern written through the mapping (t0), the trigger,
 * then the store watched until the pages arrived or the bound passed.
 */
async function measureWrites(m: Measurement): Promise<void> {
  const { dev, trigger, o } = m;
  configureFor(m);
  dev.fill(SEED_BEFORE);
  const mapping = dev.map();
  m.mapping = mapping;
  // Fault every page in by reading, so the writes below are the first
  // writes (page_mkwrite) of clean, present pages.
  mapping.touch('read');
  // The other process exists before the writes: its start-up is not timed.
  if (trigger === 'fsync-other-fd') m.helper = await FsyncHelper.start(dev.fd);
  const before = dev.stats();
  mapping.writePattern(SEED_WRITTEN);
  const t0 = process.hrtime.bigint();
  if (m.method === 'control') return checkControl(m, before);
  const id = dev.store({ pages: false }).id;
  const source = await applyTrigger(m, mapping, before, t0);
  const deadline = t0 + BigInt(trigger === 'expiry' ? o.expiryBoundMs : o.boundMs) * 1_000_000n;
  const snap = await waitForArrivals(() => source.store(trigger === 'close' ? { id } : {}), t0, m.result.pages, deadline);
  recordOutcome(m, source, snap, id, t0, before);
}

/** Measure one method x trigger. */
export async function measureTrigger(
  method: FileMethod,
  trigger: Trigger,
  options: TriggerOptions = {},
  devicePath?: string,
): Promise<TriggerResult> {
  const o = { ...TRIGGER_DEFAULTS, ...options };
  if (!TRIGGERS_OF[method].includes(trigger)) {
    throw new RangeError(`trigger ${trigger} does not apply to ${method}`);
  }
  const pageSize = nativeConstants().PAGE_SIZE;
  const result = emptyResult(method, trigger, Math.ceil(o.size / pageSize));
  if (trigger === 'pressure') {
    try {
      await measurePressure(o, devicePath, result);
    } catch (err) {
      result.error = describeError(err);
    }
    return result;
  }
  const sysctls = trigger === 'expiry' ? lowerWritebackTimes(o) : [];
  const dev = Device.open(devicePath);
  const m: Measurement = { method, trigger, o, devicePath, pageSize, result, dev, reader: null, mapping: null, helper: null };
  try {
    await measureWrites(m);
  } catch (err) {
    result.error = describeError(err);
  } finally {
    m.helper?.close();
    if (m.mapping !== null && !m.mapping.unmapped) m.mapping.unmap();
    dev.close();
    m.reader?.close();
    for (const [name, value] of sysctls) writeSysctl(name, value);
  }
  return result;
}

/**
 * "not measured: ..." when the trigger began only after pages had already
 * arrived another way (their path would be reported as the trigger's
 * answer); null when it fired in time or its time is not known.
 */
export function lateTrigger(result: Pick<TriggerResult, 'trigger' | 'triggerMs'>, snap: StoreSnapshot, t0: bigint): string | null {
  if (result.triggerMs === undefined) return null;
  const startNs = t0 + BigInt(Math.round(result.triggerMs.start * 1e6));
  const before = snap.pages.filter((p) => p.arrivedNs !== null && p.arrivedNs >= t0 && p.arrivedNs < startNs);
  if (before.length === 0) return null;
  const paths = [...new Set(before.map((p) => p.path ?? 'none'))].join(', ');
  return (
    `not measured: ${result.trigger} began ${result.triggerMs.start.toFixed(0)} ms after the writes, ` +
    `when ${before.length} page(s) had already arrived by ${paths}`
  );
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
}

/** Arrivals after t0 in a store snapshot, into `result` (pages, times, paths, data checked). */
function recordArrivals(result: TriggerResult, snap: StoreSnapshot, data: Buffer, t0: bigint, pageSize: number): void {
  const fresh = snap.pages.filter((p) => p.arrivedNs !== null && p.arrivedNs >= t0);
  result.arrived = fresh.length;
  if (fresh.length > 0) {
    const ms = fresh.map((p) => Number((p.arrivedNs as bigint) - t0) / 1e6);
    result.firstMs = Math.min(...ms);
    result.lastMs = Math.max(...ms);
  }
  for (const p of fresh) {
    const name = p.path ?? 'none';
    result.paths[name] = (result.paths[name] ?? 0) + 1;
  }
  const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
  snap.pages.forEach((p, i) => {
    if (p.arrivedNs === null || p.arrivedNs < t0) return;
    const page = words.subarray((i * pageSize) / 4, ((i + 1) * pageSize) / 4);
    if (checkPattern(page, SEED_WRITTEN, (i * pageSize) / 4) !== null) result.intact = false;
  });
}

function waitMessage<T>(child: ReturnType<typeof fork>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the writer did not report within ${ms} ms`)), ms);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the writer ended before reporting (${signal ?? `status ${code}`})`));
    });
  });
}

async function measurePressure(o: Required<TriggerOptions>, devicePath: string | undefined, result: TriggerResult): Promise<void> {
  const pageSize = nativeConstants().PAGE_SIZE;
  const cgroup = memoryCgroup('mmaplab-pressure');
  const child = fork(
    path.join(__dirname, 'pressure-child.js'),
    [cgroup, devicePath ?? '/dev/mmaplab', String(o.size), String(SEED_WRITTEN)],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  // Widened by `as`: set by the exit handler, which TypeScript's narrowing does not see.
  let ended = null as string | null;
  child.on('exit', (code, signal) => (ended = signal ?? `status ${code}`));
  const reader = Device.open(devicePath);
  try {
    const ready = await waitMessage<PressureReady>(child, CHILD_START_TIMEOUT_MS);
    const id = BigInt(ready.id);
    const t0 = BigInt(ready.t0);
    const current = Number(fs.readFileSync(path.join(cgroup, 'memory.current'), 'utf8'));
    // Room for 2 MiB more than the writer holds now: its allocations force reclaim at once.
    fs.writeFileSync(path.join(cgroup, 'memory.max'), String(current + (2 << 20)));
    const started = process.hrtime.bigint();
    sendIfAlive(child, 'go');
    const deadline = started + BigInt(o.boundMs) * 1_000_000n;
    let snap: StoreSnapshot;
    for (;;) {
      snap = reader.store({ id });
      const arrived = snap.pages.filter((p) => p.arrivedNs !== null && p.arrivedNs >= t0).length;
      if (arrived === ready.pages || ended !== null || process.hrtime.bigint() >= deadline) break;
      await sleep(POLL_MS);
    }
    // If the writer was killed its close ran the release path: read again so that shows.
    if (ended !== null) snap = reader.store({ id });
    const data = reader.store({ id, data: true, pages: false }).data;
    result.pages = ready.pages;
    recordArrivals(result, snap, data, t0, pageSize);
    result.batches = Number(snap.batches);
    const events = fs.readFileSync(path.join(cgroup, 'memory.events'), 'utf8').trim().replace(/\n/g, ', ');
    result.note = `writer ${ended === null ? 'still running at the bound' : `ended: ${ended}`}; memory.events: ${events}`;
  } finally {
    reader.close();
    if (running(child)) {
      sendIfAlive(child, 'stop');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    fs.rmdirSync(cgroup);
  }
}
