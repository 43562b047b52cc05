/**
 * Measuring one map-cost configuration inside the guest: per repetition,
 * mmap a fresh mapping and first-touch every page by reading, then another
 * fresh mapping touched by writing, the faults each took (the module's
 * STATS and the process's minor faults) and the munmap of the touched
 * mapping; then, on one faulted-in mapping, sequential read and write
 * throughput, as many times.
 *
 * Times are taken with process.hrtime.bigint() around one addon call each
 * (Device.map, Mapping.touch/readAll/fill/unmap), so they include that
 * call's own cost (about a microsecond natively, tens under TCG), the same
 * for every row, baselines included; the addon-overhead rows measure it.
 */
import { Device, failureReason, isSyscallError, mapAnonymous, type Mapping, pageSize } from '../device';
import type { AllocName, CellMethodName } from '../experiments/types';
import { MmaplabError } from '../util/errors';
import { isBaseline, type MapCostConfig } from './configs';
import { median, stat } from './stat';
import type { MapCostRow } from './types';

/**
 * Bytes one throughput measurement moves at least: a small mapping is
 * swept as many times as it takes, so that the time is well above the
 * clock's and the call's resolution.
 */
export const MIN_BYTES_MOVED = 8 << 20;

/** The byte the write sweep stores (any value would do; not 0, which a fresh page already holds). */
const FILL_BYTE = 0x5a;

/** Module counters of the session (zero for anonymous memory). */
interface Counters {
  faults: number;
  mapPages: number;
}

/** What maps a configuration: a configured device session, or anonymous memory. */
interface Mapper {
  map(): Mapping;
  counters(): Counters;
  close(): void;
}

/** The fault-in figures of one repetition. */
interface FaultIn {
  mmapNs: number;
  touchReadNs: number;
  touchWriteNs: number;
  munmapNs: number;
  faultsRead: number;
  faultsWrite: number;
  mapPagesCallsRead: number;
  minfltRead: number;
  minfltWrite: number;
}

/** The throughput of one repetition of the sweeps. */
interface Sweep {
  readBytesPerSec: number;
  writeBytesPerSec: number;
}

const now = (): bigint => process.hrtime.bigint();
const since = (t: bigint): number => Number(now() - t);
const minorFaults = (): number => process.resourceUsage().minorPageFault;

/** A refused CONFIGURE or mmap as the row's `refused` text; null for anything else (a bug: rethrown). */
export function refusalText(err: unknown, step: 'CONFIGURE' | 'mmap'): string | null {
  if (!isSyscallError(err)) return null;
  return `${err.code}: ${failureReason(err)?.text ?? err.message} (${step})`;
}

/** The module's counters of a session, as numbers. */
function sessionCounters(dev: Device): Counters {
  const s = dev.stats();
  return { faults: Number(s.faults), mapPages: Number(s.mapPagesCalls) };
}

function deviceMapper(alloc: AllocName, method: CellMethodName, config: MapCostConfig): Mapper {
  const dev = Device.open();
  try {
    dev.configure({ alloc, method, size: config.size, cache: config.cache, faultAround: config.faultAround });
  } catch (err) {
    dev.close();
    throw err;
  }
  return { map: () => dev.map(), counters: () => sessionCounters(dev), close: () => dev.close() };
}

/*
 * The baselines read the counters of an idle device session (always zero)
 * rather than skipping the call: under emulation a system call is slower
 * right after other work, so every row makes the same calls in the same
 * order, and what STATS costs the mmap after it is charged to all alike.
 */
function anonymousMapper(size: number, populate: boolean): Mapper {
  const idle = Device.open();
  return {
    map: () => mapAnonymous(size, { populate }),
    counters: () => sessionCounters(idle),
    close: () => idle.close(),
  };
}

/*
 * One repetition of the fault-in measurements: a fresh mapping first
 * touched by reading, then another first touched by writing. The module's
 * counters are read around mmap and touch together (->fault only runs on a
 * touch, but mmap-time methods count their pages then); the process's
 * minor faults around the touch alone, so that MAP_POPULATE's faults, taken
 * inside mmap, show as what they are: none left to take.
 */
function measureFaultIn(mapper: Mapper): FaultIn {
  let c0 = mapper.counters();
  let t = now();
  const reader = mapper.map();
  const mmapNs = since(t);
  let f0 = minorFaults();
  t = now();
  reader.touch('read');
  const touchReadNs = since(t);
  const minfltRead = minorFaults() - f0;
  let c1 = mapper.counters();
  reader.unmap();
  const faultsRead = c1.faults - c0.faults;
  const mapPagesCallsRead = c1.mapPages - c0.mapPages;

  c0 = mapper.counters();
  const writer = mapper.map();
  f0 = minorFaults();
  t = now();
  writer.touch('write');
  const touchWriteNs = since(t);
  const minfltWrite = minorFaults() - f0;
  c1 = mapper.counters();
  t = now();
  writer.unmap();
  const munmapNs = since(t);
  return {
    mmapNs,
    touchReadNs,
    touchWriteNs,
    munmapNs,
    faultsRead,
    faultsWrite: c1.faults - c0.faults,
    mapPagesCallsRead,
    minfltRead,
    minfltWrite,
  };
}

/**
 * The steady state: one mapping, faulted in by writing, swept sequentially
 * (read, then write) `reps` times. Run after all the fault-in repetitions,
 * not between them: under emulation, a system call right after
 * milliseconds of a busy loop was seen to take several times longer, which
 * would have charged the sweeps to the next repetition's mmap.
 */
function measureSweeps(mapper: Mapper, size: number, reps: number): Sweep[] {
  const passes = Math.max(1, Math.ceil(MIN_BYTES_MOVED / size));
  const moved = size * passes;
  const perSec = (ns: number): number => (moved * 1e9) / Math.max(ns, 1);
  const m = mapper.map();
  try {
    m.touch('write');
    return Array.from({ length: reps }, () => {
      let t = now();
      m.readAll(passes);
      const readNs = since(t);
      t = now();
      m.fill(FILL_BYTE, passes);
      return { readBytesPerSec: perSec(readNs), writeBytesPerSec: perSec(since(t)) };
    });
  } finally {
    m.unmap();
  }
}

/** Measures one configuration `reps` times; a refused CONFIGURE or mmap gives a row with `refused`. */
export function measureMapCost(config: MapCostConfig, reps: number): MapCostRow {
  const row: MapCostRow = {
    alloc: config.alloc,
    method: config.method,
    size: config.size,
    pages: Math.ceil(config.size / pageSize()),
    cache: config.cache,
    faultAround: config.faultAround,
  };
  let mapper: Mapper;
  const method = config.method;
  if (isBaseline(method)) {
    mapper = anonymousMapper(config.size, method === 'anon_populate');
  } else {
    if (config.alloc === null) throw new MmaplabError('EUSAGE', `${method} needs an allocator`);
    try {
      mapper = deviceMapper(config.alloc, method, config);
    } catch (err) {
      const refused = refusalText(err, 'CONFIGURE');
      if (refused === null) throw err;
      return { ...row, refused };
    }
  }

  const faultIns: FaultIn[] = [];
  let sweeps: Sweep[];
  try {
    try {
      for (let i = 0; i < reps; i++) faultIns.push(measureFaultIn(mapper));
      sweeps = measureSweeps(mapper, config.size, reps);
    } catch (err) {
      // Only mmap may refuse; any other failing call is not an answer.
      const refused = isSyscallError(err) && err.syscall === 'mmap' ? refusalText(err, 'mmap') : null;
      if (refused === null) throw err;
      return { ...row, refused };
    }
  } finally {
    mapper.close();
  }
  const of = <K extends keyof FaultIn>(k: K): number[] => faultIns.map((s) => s[k]);
  return {
    ...row,
    mmapNs: stat(of('mmapNs')),
    touchReadNs: stat(of('touchReadNs')),
    touchWriteNs: stat(of('touchWriteNs')),
    munmapNs: stat(of('munmapNs')),
    faultsRead: median(of('faultsRead')),
    faultsWrite: median(of('faultsWrite')),
    mapPagesCallsRead: median(of('mapPagesCallsRead')),
    minfltRead: median(of('minfltRead')),
    minfltWrite: median(of('minfltWrite')),
    readBytesPerSec: stat(sweeps.map((s) => s.readBytesPerSec)),
    writeBytesPerSec: stat(sweeps.map((s) => s.writeBytesPerSec)),
  };
}
