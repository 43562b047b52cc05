/**
 * Plain, JSON-serialisable data describing experiments and their outcomes.
 * The shapes that travel as JSON are defined by their schemas (./schema);
 * their types are re-exported here without loading valibot.
 */
export type {
  BootProfile,
  CacheName,
  CellEvidence,
  CellPhases,
  CellResult,
  CellSpec,
  DeviceSide,
  DmaBufObservation,
  EvidenceFinding,
  Mismatch,
  ProbeObservation,
  SessionStats,
  StuckTask,
  UseObservation,
  Verdict,
} from './schema';
import type { ProbeObservation, StuckTask } from './schema';
import { ALLOCS, type AllocName, METHODS, type MethodName } from '../device/layout';
import { FILE_METHODS, type FileMethodName } from '../device/support';

/**
 * The catalogue's allocators and methods, in the order of the report grids:
 * the uapi header's names, in the order lib/device/layout.ts lists them. A
 * cell's method is one of the buffer device's (the file-backed methods are
 * measured on their own devices, by the files measurements).
 */
export const CELL_ALLOCS: readonly AllocName[] = Object.keys(ALLOCS) as AllocName[];
export type CellMethodName = Exclude<MethodName, FileMethodName>;
export const CELL_METHODS: readonly CellMethodName[] = (Object.keys(METHODS) as MethodName[]).filter(
  (m): m is CellMethodName => !(FILE_METHODS as readonly string[]).includes(m),
);
export type { AllocName };

/**
 * - basic: kernel FILL -> user reads; user writes -> kernel VERIFY; munmap, close.
 * - write-first: the same in the other order, so the first touch of every
 *   page is a write fault (the slab fault hazard needs one to hit 6.1).
 * - free-while-mapped: map and read, then the driver frees the buffer while
 *   mapped; the probe reads the mapping again (does it still see the pattern?).
 * - fork: a forked child writes through the inherited shared mapping; the
 *   parent and the kernel must both see its writes.
 * - private-write: MAP_PRIVATE, read, write: the writes must stay private
 *   (copy-on-write), never reach the driver's buffer; or mmap refuses.
 * - partial-munmap: unmap the second page; the rest must still show the buffer.
 * - dontneed-retouch: read everything, madvise(DONTNEED), read again.
 * - mprotect-write: mprotect(PROT_READ), then write: SIGSEGV.
 * - past-end: mmap one page more than the buffer holds.
 *
 * Placement: the same data both ways as basic, with the mapping put where a
 * program may put it, and the writes done by a forked child that exits in
 * the cell's window (so the kernel checks that process's counters then).
 * - hint-2m: mmap hinted at a free 2 MiB-aligned address (x86-64's PMD size).
 * - hint-1g: mmap hinted at a free 1 GiB-aligned address (its PUD size).
 * - fixed-over: a second mmap with MAP_FIXED over the second page of a
 *   mapping of the same session (the first page for a one-page buffer),
 *   showing the same buffer page: the first VMA is split around it.
 * - short-length: mmap 100 bytes short of the buffer's end; the kernel
 *   rounds the length up to a page.
 *
 * - use: the kernel fills the buffer, userspace maps and reads it, then
 *   does what the cell's `use` names (./uses).
 */
export const SCENARIOS = [
  'basic',
  'write-first',
  'free-while-mapped',
  'fork',
  'private-write',
  'partial-munmap',
  'dontneed-retouch',
  'mprotect-write',
  'past-end',
  'hint-2m',
  'hint-1g',
  'fixed-over',
  'short-length',
  'use',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The scenarios that vary only where a mapping goes (and its length). */
export const PLACEMENT_SCENARIOS = ['hint-2m', 'hint-1g', 'fixed-over', 'short-length'] as const satisfies readonly Scenario[];

export const PROBE_STEPS = [
  'open',
  'configure',
  'fill',
  'mmap',
  'read',
  'write',
  'verify',
  'free',
  'reread',
  'fork',
  'advise',
  'protect',
  'unmap-part',
  'munmap',
  'drain',
  'close',
  'use',
  'device',
  'export',
  'sync',
] as const;
export type ProbeStep = (typeof PROBE_STEPS)[number];

/** An observation with nothing seen yet; the probe fills it step by step. */
export function emptyObservation(): ProbeObservation {
  return {
    steps: [],
    refused: null,
    kernelToUser: null,
    userToKernel: null,
    signal: null,
    signalStep: null,
    signalPage: null,
    view: null,
    error: null,
    drainedCpu: null,
    stats: null,
    afterFree: null,
    use: null,
    pfnsConsecutive: null,
  };
}

/** "main thread 154 (node) D at folio_wait_bit_common; stack: a < b < c": one line per thread, for every format. */
export function stuckTaskLines(tasks: readonly StuckTask[]): string[] {
  return tasks.map(
    (t) =>
      `thread ${t.tid} (${t.comm}) state ${t.state}${t.wchan ? ` at ${t.wchan}` : ''}` +
      `${t.syscall ? `, syscall ${t.syscall}` : ''}${t.stack && t.stack.length > 0 ? `; stack: ${t.stack.join(' < ')}` : ''}`,
  );
}
