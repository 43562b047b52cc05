/**
 * The probe's side of the use cells: one handler per use (the catalogue's
 * ./experiments/uses), run after the kernel filled the buffer and the
 * probe mapped and read it. A handler does its one thing, checks the data
 * where the use moves data, and says what it found; a refusal is thrown as
 * the syscall error and becomes the cell's refusal. Mappings a handler
 * makes (mremap) go into `held`, so the common end unmaps them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clearSoftDirty,
  coreSegments,
  type Device,
  dumpCore,
  type Placement,
  futexHandoff,
  futexWaitPrivate,
  forkHold,
  freeAddress,
  ioUring,
  type Mapping,
  mapAnonymous,
  openPipe,
  openSocketPair,
  type PatternMismatch,
  pageSize,
  pagemapOf,
  releaseHeld,
  remoteRead,
  type RemoteHow,
  remoteWrite,
  setThpMode,
  smapsAt,
  type ThpMode,
  thpMode,
  spliceAll,
  smapsAfterLockAll,
  transferAll,
  type UffdMode,
  uffdRegister,
  vmspliceAll,
} from '../device';
import { native } from '../device/native';
import { checkPattern, writePattern } from '../device/pattern';
import type { Mismatch } from '../experiments/types';
import type { UseName } from '../experiments/uses';
import { SCRATCH_DISK_SERIAL } from '../vm/scratch-disk';
import { memoryCgroup, memoryEvents } from '../util/cgroup';

import { SEED_KERNEL as USE_SEED_KERNEL, SEED_USER as USE_SEED_USER } from './seeds';

export interface UseContext {
  /** The buffer mapped again, shared, by the same descriptor (the THP uses place it). */
  mapAgain: (options: { length: number; placement: Placement }) => Mapping;
  /**
   * The pfns of the driver's buffer, page by page, when the driver says
   * (mmaplab's INFO); null for a driver that does not (mmap check).
   */
  driverPfns: () => bigint[] | null;
  /** The mapping of the whole buffer, holding the kernel's pattern, read once. */
  map: Mapping;
  /** Every mapping the cell holds; the common end unmaps them all. */
  held: Mapping[];
  /** Records a failed data check (the first one counts). */
  view: (what: string, mismatch: PatternMismatch | null) => void;
  /** Records what the kernel found after a user write (VERIFY). */
  verify: (seed: number) => void;
}

/** What a use found beyond the data: the verdict's detail when ok, and the facts behind it. */
export interface UseFinding {
  outcome: string;
  facts: Record<string, string | number | boolean>;
}

type UseHandler = (ctx: UseContext) => UseFinding;

/** The context of a use on mmaplab's own device: mapped again by it, its pfns from INFO. */
export function deviceUseContext(d: Device, rest: Omit<UseContext, 'mapAgain' | 'driverPfns'>): UseContext {
  return { ...rest, mapAgain: (o) => d.map(o), driverPfns: () => (d.info({ pages: true }).pages ?? []).map((p) => p.pfn) };
}

const plain = (facts: UseFinding['facts'] = {}): UseFinding => ({ outcome: '', facts });

/** The pattern for `seed` over `length` bytes, in the device buffer's coordinates from `offset`. */
function patternBuffer(seed: number, length: number, offset: number): Buffer {
  const buf = Buffer.alloc(length);
  writePattern(new Uint32Array(buf.buffer, buf.byteOffset, length / 4), seed, offset / 4);
  return buf;
}

function checkBytes(buf: Buffer, seed: number, offset: number): PatternMismatch | null {
  return checkPattern(new Uint32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4)), seed, offset / 4);
}

function writeAllFd(fd: number, buf: Buffer): void {
  for (let done = 0; done < buf.length;) done += fs.writeSync(fd, buf, done, buf.length - done);
}

/** Up to `length` bytes of `fd`, from its own position (null) or from `position`, until it ends. */
function readFully(fd: number, length: number, position: number | null = null): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position === null ? null : position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** A whole-length comparison: fewer bytes than asked is itself a mismatch at the first missing byte. */
function shortOr(buf: Buffer, want: number, seed: number, offset: number): PatternMismatch | null {
  const m = checkBytes(buf, seed, offset);
  if (m !== null || buf.length >= want) return m;
  return { offset: buf.length, expected: 0, found: 0 };
}

/** Data arrives in the mapping from a pipe or socket: the kernel copies into it. */
function intoMapping(kind: 'pipe' | 'socket'): UseHandler {
  return ({ map, view, verify }) => {
    using fds = kind === 'pipe' ? openPipe() : openSocketPair();
    writeAllFd(fds.b, patternBuffer(USE_SEED_USER, map.length, map.offset));
    const n = transferAll(map, fds.a, 'in');
    view(`${kind}-read`, map.checkPattern(USE_SEED_USER));
    verify(USE_SEED_USER);
    return plain({ bytes: n });
  };
}

/** Data leaves the mapping for a pipe or socket: the kernel copies out of it. */
function outOfMapping(kind: 'pipe' | 'socket'): UseHandler {
  return ({ map, view }) => {
    using fds = kind === 'pipe' ? openPipe() : openSocketPair();
    const n = transferAll(map, fds.b, 'out');
    view(`${kind}-write`, shortOr(readFully(fds.a, map.length), map.length, USE_SEED_KERNEL, map.offset));
    return plain({ bytes: n });
  };
}

function remoteReads(how: RemoteHow): UseHandler {
  return ({ map, view }) => {
    const r = remoteRead(map, how, USE_SEED_KERNEL);
    view(`${how}-read`, r.mismatch ?? (r.bytes < map.length ? { offset: r.bytes, expected: 0, found: 0 } : null));
    return plain({ bytes: r.bytes });
  };
}

function remoteWrites(how: RemoteHow): UseHandler {
  return ({ map, view, verify }) => {
    const n = remoteWrite(map, how, USE_SEED_USER);
    view(`${how}-write`, map.checkPattern(USE_SEED_USER));
    verify(USE_SEED_USER);
    return plain({ bytes: n });
  };
}

/** A forked child reads [offset, offset + length) of a mapping: the signal that killed it, or null. */
function childRead(map: Mapping, offset: number, length: number): string | null {
  const r = native().forkTouch(map.buffer, offset, length, 0, 0, 0);
  return r.signal === null ? null : signalName(r.signal);
}

function signalName(n: number): string {
  const entry = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `signal ${n}`;
}

function afterAdvice(advice: Parameters<Mapping['advise']>[0]): UseHandler {
  return ({ map, view }) => {
    map.advise(advice);
    view(`after-${advice}`, map.checkPattern(USE_SEED_KERNEL));
    return plain();
  };
}

function msyncThen(options: Parameters<Mapping['msync']>[0]): UseHandler {
  return ({ map, view }) => {
    map.msync(options);
    view('after-msync', map.checkPattern(USE_SEED_KERNEL));
    return plain();
  };
}

/** The special flags of a VMA, of io, pf, de, dd, mm, in that order ('none' without any). */
function specialFlags(flags: readonly string[]): string {
  const shown = ['io', 'pf', 'de', 'dd', 'mm'].filter((f) => flags.includes(f));
  return shown.length > 0 ? shown.join('+') : 'none';
}

function lockedOutcome(map: Mapping, smaps?: string): UseFinding {
  const e = smapsAt(map.address, smaps);
  if (e === null) throw new Error(`no smaps entry starts at ${map.address.toString(16)}`);
  const locked = e.flags.includes('lo');
  return { outcome: locked ? 'locked' : 'not-locked', facts: { vmflags: e.flags.join(' '), lockedKb: e.lockedKb } };
}

/** The VM's scratch disk (lib/vm/scratch-disk), found by its serial: /dev/vdb in a restored VM, /dev/vda in a cold one. */
export function scratchDisk(): string {
  for (const name of fs.readdirSync('/sys/block')) {
    try {
      if (fs.readFileSync(`/sys/block/${name}/serial`, 'utf8').trim() === SCRATCH_DISK_SERIAL) return `/dev/${name}`;
    } catch {
      // no serial: not a virtio disk
    }
  }
  throw new Error(`no block device with serial ${SCRATCH_DISK_SERIAL}: this machine has no scratch disk for O_DIRECT`);
}

/** Where on the scratch disk the O_DIRECT write goes (the read uses offset 0). */
const ODIRECT_WRITE_AT = 1 << 20;

/** The block device put there by buffered I/O, then read into the mapping with O_DIRECT. */
const odirectRead: UseHandler = ({ map, view, verify }) => {
  const disk = scratchDisk();
  const fd = fs.openSync(disk, 'r+');
  try {
    const data = patternBuffer(USE_SEED_USER, map.length, map.offset);
    for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done, done);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const direct = fs.openSync(disk, fs.constants.O_RDWR | fs.constants.O_DIRECT);
  let n: number;
  try {
    n = transferAll(map, direct, 'in', 0);
  } finally {
    fs.closeSync(direct);
  }
  view('odirect-read', map.checkPattern(USE_SEED_USER));
  verify(USE_SEED_USER);
  return plain({ bytes: n, disk });
};

/** The mapping written to the block device with O_DIRECT, then read back with buffered I/O. */
const odirectWrite: UseHandler = ({ map, view }) => {
  const disk = scratchDisk();
  const direct = fs.openSync(disk, fs.constants.O_RDWR | fs.constants.O_DIRECT);
  let n: number;
  try {
    n = transferAll(map, direct, 'out', ODIRECT_WRITE_AT);
  } finally {
    fs.closeSync(direct);
  }
  const fd = fs.openSync(disk, 'r');
  let back: Buffer;
  try {
    back = readFully(fd, map.length, ODIRECT_WRITE_AT);
  } finally {
    fs.closeSync(fd);
  }
  view('odirect-write', shortOr(back, map.length, USE_SEED_KERNEL, map.offset));
  return plain({ bytes: n, disk });
};

/** io_uring reads into the mapping from a pipe (plain or into a registered buffer), or writes it into one. */
function ringUse(direction: 'in' | 'out', fixed: boolean): UseHandler {
  return ({ map, view, verify }) => {
    using p = openPipe();
    if (direction === 'in') {
      writeAllFd(p.b, patternBuffer(USE_SEED_USER, map.length, map.offset));
      const n = ioUring(map, p.a, 'in', fixed);
      view(fixed ? 'io-uring-fixed' : 'io-uring-read', map.checkPattern(USE_SEED_USER));
      verify(USE_SEED_USER);
      return plain({ bytes: n });
    }
    const n = ioUring(map, p.b, 'out', fixed);
    view('io-uring-write', shortOr(readFully(p.a, n), map.length, USE_SEED_KERNEL, map.offset));
    return plain({ bytes: n });
  };
}

function uffdUse(mode: UffdMode): UseHandler {
  return ({ map }) => {
    uffdRegister(map, mode);
    return plain();
  };
}

/**
 * A forked child dumps core with `filter`; what the core holds of the
 * mapping: 'not-dumped' (its segment has no bytes in the file), 'dumped'
 * (the driver's data), 'dumped-zeros', 'dumped-other', or 'absent' (no
 * segment at its address).
 */
function coreUse(filter: number): UseHandler {
  return ({ map }) => {
    const core = dumpCore(filter);
    if (core === null) throw new Error('the forked child died without dumping core');
    const seg = coreSegments(core).find((s) => s.vaddr === map.address);
    if (seg === undefined) return { outcome: 'absent', facts: { coreBytes: core.length } };
    const facts = { filesz: seg.filesz, memsz: seg.memsz, coreBytes: core.length };
    if (seg.filesz === 0) return { outcome: 'not-dumped', facts };
    const data = Buffer.from(core.subarray(seg.offset, seg.offset + Math.min(seg.filesz, map.length)));
    if (data.length >= map.length && checkBytes(data, USE_SEED_KERNEL, map.offset) === null) return { outcome: 'dumped', facts };
    return { outcome: data.every((b) => b === 0) ? 'dumped-zeros' : 'dumped-other', facts };
  };
}

const PMD = 2 << 20;

/**
 * The THP switch set to `mode` (put back afterwards), the buffer mapped
 * again at a free 2 MiB-aligned address (MADV_HUGEPAGE first in 'madvise'
 * mode), read and written there: how much of it the kernel mapped with PMD
 * entries (smaps FilePmdMapped) is the finding.
 */
function thpUse(mode: ThpMode): UseHandler {
  return ({ mapAgain, map, held, view, verify }) => {
    const before = thpMode();
    if (before === null) throw new Error('this kernel has no transparent huge page switch');
    setThpMode(mode);
    try {
      const want = freeAddress(map.length, PMD);
      const m = mapAgain({ length: map.length, placement: { mode: 'hint', address: want } });
      held.push(m);
      if (m.address !== want) throw new Error(`the hint ${want.toString(16)} was not honoured (mapped at ${m.address.toString(16)})`);
      if (mode === 'madvise') m.advise('hugepage');
      view('thp-read', m.checkPattern(USE_SEED_KERNEL));
      const e = smapsAt(m.address);
      if (e === null) throw new Error(`no smaps entry starts at ${m.address.toString(16)}`);
      m.writePattern(USE_SEED_USER);
      verify(USE_SEED_USER);
      const kb = map.length / 1024;
      const outcome = e.filePmdKb >= kb ? 'pmd-mapped' : e.filePmdKb === 0 ? 'pte-mapped' : 'partly-pmd-mapped';
      return { outcome, facts: { filePmdKb: e.filePmdKb, rssKb: e.rssKb, vmflags: e.flags.join(' ') } };
    } finally {
      setThpMode(before);
    }
  };
}

/**
 * Soft-dirty tracking: clear_refs, then pagemap's soft-dirty bits, a write
 * to every page, and the bits again: 'tracked' (clear, then set on every
 * page), 'never-set', 'never-cleared', 'partly', or 'not-present' when
 * pagemap shows no page at all.
 */
const softDirtyUse: UseHandler = ({ map, verify }) => {
  const pages = Math.ceil(map.length / pageSize());
  clearSoftDirty();
  const cleared = pagemapOf(map.address, pages);
  map.writePattern(USE_SEED_USER);
  verify(USE_SEED_USER);
  const written = pagemapOf(map.address, pages);
  const facts = {
    presentAfterClear: cleared.filter((e) => e.present).length,
    dirtyAfterClear: cleared.filter((e) => e.softDirty).length,
    dirtyAfterWrite: written.filter((e) => e.softDirty).length,
    pages,
  };
  if (cleared.every((e) => !e.present) && written.every((e) => !e.present)) return { outcome: 'not-present', facts };
  const outcome =
    facts.dirtyAfterClear === 0 && facts.dirtyAfterWrite === pages
      ? 'tracked'
      : facts.dirtyAfterWrite === 0
        ? 'never-set'
        : facts.dirtyAfterClear === pages
          ? 'never-cleared'
          : 'partly';
  return { outcome, facts };
};

/** The cgroup limit of the pressure use: below what reading the scratch disk through the page cache charges. */
const PRESSURE_LIMIT = 4 << 20;

/**
 * Reclaim while the mapping is held: a forked child joins a cgroup limited
 * to PRESSURE_LIMIT, reads the mapping, reads the scratch disk (twice its
 * limit) through the page cache, and checks the mapping again. Whether the
 * driver's pages moved ('unmoved' or 'moved', by the pfns INFO reports
 * before and after) is the finding; 'no-reclaim' when the cgroup never hit
 * its limit.
 */
const reclaimPressure: UseHandler = ({ driverPfns, map, view }) => {
  // The driver's own pfns when it says; else what the mapping's page table holds.
  const pfns = (): bigint[] =>
    driverPfns() ?? pagemapOf(map.address, Math.ceil(map.length / pageSize())).map((e) => (e.present ? e.pfn : -1n));
  const before = pfns();
  const disk = scratchDisk();
  const cg = memoryCgroup('mmaplab-use-pressure');
  let end: { exitCode: number | null; signal: number | null };
  let events: Record<string, number>;
  try {
    fs.writeFileSync(path.join(cg, 'memory.max'), String(PRESSURE_LIMIT));
    end = native().pressureChild(map.buffer, path.join(cg, 'cgroup.procs'), disk, 2, USE_SEED_KERNEL, map.offset / 4);
    events = memoryEvents(cg);
  } finally {
    fs.rmdirSync(cg);
  }
  if (end.signal !== null) throw new ChildSignal(signalName(end.signal));
  if (end.exitCode !== 0 && end.exitCode !== 1) throw new Error(`the pressure child failed (exit ${end.exitCode}: 3 cgroup, 4 disk)`);
  if (end.exitCode === 1) view('pressure-child-reread', { offset: 0, expected: 0, found: 1 });
  view('after-pressure', map.checkPattern(USE_SEED_KERNEL));
  const after = pfns();
  const moved = after.length !== before.length || after.some((p, i) => p !== before[i]);
  const limitHits = events['max'] ?? 0;
  // No limit hit: nothing was reclaimed, and the cell did not test what it says.
  const outcome = limitHits === 0 ? 'no-reclaim' : moved ? 'moved' : 'unmoved';
  return { outcome, facts: { limitHits, oomKills: events['oom_kill'] ?? 0 } };
};

const HANDLERS: Record<UseName, UseHandler> = {
  'pipe-read': intoMapping('pipe'),
  'pipe-write': outOfMapping('pipe'),
  'socket-read': intoMapping('socket'),
  'socket-write': outOfMapping('socket'),
  'process-vm-read': remoteReads('process_vm'),
  'process-vm-write': remoteWrites('process_vm'),
  'proc-mem-read': remoteReads('proc_mem'),
  'proc-mem-write': remoteWrites('proc_mem'),
  'ptrace-peek': remoteReads('ptrace'),
  'ptrace-poke': remoteWrites('ptrace'),
  vmsplice: ({ map, view }) => {
    using p = openPipe();
    const n = vmspliceAll(map, p.b);
    view('vmsplice', shortOr(readFully(p.a, n), map.length, USE_SEED_KERNEL, map.offset));
    return plain({ bytes: n });
  },
  splice: ({ map, view }) => {
    using p = openPipe();
    const n = vmspliceAll(map, p.b);
    const file = path.join(os.tmpdir(), `mmaplab-splice-${process.pid}`);
    const fd = fs.openSync(file, 'w+');
    fs.unlinkSync(file);
    try {
      const moved = spliceAll(p.a, fd, n);
      view('splice', shortOr(readFully(fd, moved, 0), map.length, USE_SEED_KERNEL, map.offset));
      return plain({ bytes: moved });
    } finally {
      fs.closeSync(fd);
    }
  },
  'futex-shared': ({ map }) => {
    const r = futexHandoff(map);
    return { outcome: r.woken && r.waiter === 'woken' ? 'woken' : `not-woken-${r.waiter}`, facts: { woken: r.woken, waiter: r.waiter } };
  },
  'futex-private': ({ map }) => {
    futexWaitPrivate(map);
    return plain();
  },
  'odirect-read': odirectRead,
  'odirect-write': odirectWrite,
  'io-uring-read': ringUse('in', false),
  'io-uring-write': ringUse('out', false),
  'io-uring-fixed': ringUse('in', true),
  'mremap-shrink': (ctx) => {
    const half = ctx.map.length / 2;
    const m = ctx.map.remap(half, { mayMove: false });
    ctx.held.push(m);
    ctx.view('after-mremap', m.checkPattern(USE_SEED_KERNEL));
    return plain({ length: half });
  },
  'mremap-grow': (ctx) => {
    const length = ctx.map.length;
    const m = ctx.map.remap(length + pageSize(), { mayMove: true });
    ctx.held.push(m);
    ctx.view('after-mremap', checkBytes(Buffer.from(m.buffer, 0, length), USE_SEED_KERNEL, m.offset));
    const signal = childRead(m, length, pageSize());
    if (signal !== null) throw new ChildSignal(signal);
    return plain({ moved: m.address !== ctx.map.address });
  },
  'mremap-move': (ctx) => {
    const to = freeAddress(ctx.map.length, pageSize());
    const m = ctx.map.remap(ctx.map.length, { to });
    ctx.held.push(m);
    ctx.view('after-mremap', m.checkPattern(USE_SEED_KERNEL));
    return plain();
  },
  'mremap-fixed': (ctx) => {
    const other = mapAnonymous(ctx.map.length, { populate: true });
    ctx.held.push(other);
    const m = ctx.map.remap(ctx.map.length, { over: other });
    ctx.held.push(m);
    ctx.view('after-mremap', m.checkPattern(USE_SEED_KERNEL));
    return plain();
  },
  'mremap-dontunmap': (ctx) => {
    const m = ctx.map.remap(ctx.map.length, { dontUnmap: true });
    ctx.held.push(m);
    ctx.view('after-mremap', m.checkPattern(USE_SEED_KERNEL));
    const signal = childRead(ctx.map, 0, ctx.map.length);
    return { outcome: signal === null ? 'old-range-readable' : `old-range-${signal.toLowerCase()}`, facts: {} };
  },
  mlock: ({ map, view }) => {
    map.lock();
    try {
      return lockedOutcome(map);
    } finally {
      map.unlock();
      view('after-mlock', map.checkPattern(USE_SEED_KERNEL));
    }
  },
  mlockall: ({ map, view }) => {
    const found = lockedOutcome(map, smapsAfterLockAll());
    view('after-mlockall', map.checkPattern(USE_SEED_KERNEL));
    return found;
  },
  'madv-free': afterAdvice('free'),
  'madv-cold': afterAdvice('cold'),
  'madv-pageout': afterAdvice('pageout'),
  'madv-willneed': afterAdvice('willneed'),
  'madv-populate-read': afterAdvice('populate_read'),
  'madv-populate-write': afterAdvice('populate_write'),
  'madv-dontfork': ({ map, view }) => {
    map.advise('dontfork');
    const signal = childRead(map, 0, map.length);
    view('after-dontfork', map.checkPattern(USE_SEED_KERNEL));
    return { outcome: signal === null ? 'inherited' : 'not-inherited', facts: { childSignal: signal ?? 'none' } };
  },
  'madv-wipeonfork': afterAdvice('wipeonfork'),
  'madv-mergeable': afterAdvice('mergeable'),
  'madv-hugepage': afterAdvice('hugepage'),
  'madv-collapse': afterAdvice('collapse'),
  'fork-exits-last': ({ map, view, verify }) => {
    const child = forkHold(map);
    map.unmap();
    const end = releaseHeld(child, USE_SEED_USER);
    if (end.signal !== null) throw new ChildSignal(signalName(end.signal));
    if (end.exitCode !== 0) {
      view('child-reread', { offset: 0, expected: 0, found: end.exitCode ?? -1 });
      return plain({ childExit: end.exitCode ?? -1 });
    }
    verify(USE_SEED_USER);
    return plain();
  },
  'mprotect-cycle': ({ map, view, verify }) => {
    map.protect('r');
    map.protect('none');
    map.protect('rw');
    map.writePattern(USE_SEED_USER);
    verify(USE_SEED_USER);
    view('after-mprotect', map.checkPattern(USE_SEED_USER));
    return plain();
  },
  'msync-sync': msyncThen({ mode: 'sync' }),
  'msync-async': msyncThen({ mode: 'async' }),
  'msync-invalidate': msyncThen({ mode: 'async', invalidate: true }),
  mincore: ({ map }) => {
    const resident = map.residentPages();
    const pages = Math.ceil(map.length / pageSize());
    const outcome = resident === pages ? 'resident-all' : resident === 0 ? 'resident-none' : `resident-${resident}-of-${pages}`;
    return { outcome, facts: { resident, pages } };
  },
  smaps: ({ map }) => {
    const e = smapsAt(map.address);
    if (e === null) throw new Error(`no smaps entry starts at ${map.address.toString(16)}`);
    const rss = e.rssKb * 1024 >= map.length ? 'all' : e.rssKb === 0 ? 'none' : 'part';
    return { outcome: `${specialFlags(e.flags)} rss-${rss}`, facts: { vmflags: e.flags.join(' '), rssKb: e.rssKb } };
  },
  pagemap: ({ map, driverPfns }): UseFinding => {
    const pages = Math.ceil(map.length / pageSize());
    const entries = pagemapOf(map.address, pages);
    const present = entries.filter((e) => e.present).length;
    const driver = driverPfns();
    if (driver === null) {
      // Nothing to compare with: what is present, and whether the pfns show.
      const shown = entries.filter((e) => e.present && e.pfn !== 0n).length;
      const outcome =
        present === 0
          ? 'not-present'
          : present < pages
            ? `present-${present}-of-${pages}`
            : shown === pages
              ? 'present-pfns-shown'
              : 'present';
      return { outcome, facts: { present, shown, pages, firstPfn: entries[0]?.present ? `0x${entries[0].pfn.toString(16)}` : 'none' } };
    }
    const matching = entries.filter((e, i) => e.present && e.pfn === driver[map.offset / pageSize() + i]).length;
    const hidden = entries.filter((e) => e.present && e.pfn === 0n).length;
    const outcome =
      present === 0
        ? 'not-present'
        : present < pages
          ? `present-${present}-of-${pages}`
          : matching === pages
            ? 'present-pfns-match'
            : hidden === pages
              ? 'present-pfns-hidden'
              : 'present-pfns-differ';
    return { outcome, facts: { present, matching, pages, firstPfn: entries[0]?.present ? `0x${entries[0].pfn.toString(16)}` : 'none' } };
  },
  'thp-always': thpUse('always'),
  'thp-madvise': thpUse('madvise'),
  'thp-never': thpUse('never'),
  'pagemap-soft-dirty': softDirtyUse,
  'uffd-missing': uffdUse('missing'),
  'uffd-wp': uffdUse('wp'),
  'uffd-minor': uffdUse('minor'),
  'core-dump': coreUse(0x10),
  'core-dump-shared': coreUse(0x18),
  'reclaim-pressure': reclaimPressure,
};

/** A forked child of the use was killed by a signal: the cell's signal. */
export class ChildSignal extends Error {
  constructor(readonly signal: string) {
    super(`a child touching the mapping was killed by ${signal}`);
  }
}

/** Runs one use on a cell's mapping. */
export function runUse(use: UseName, ctx: UseContext): UseFinding {
  return HANDLERS[use](ctx);
}

/** For the observation: a PatternMismatch as the probe records it. */
export function asMismatchRecord(m: PatternMismatch): Mismatch {
  return { offset: m.offset, expected: m.expected, found: m.found };
}
