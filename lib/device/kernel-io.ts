/**
 * What a program asks the kernel to do with a mapping's memory besides
 * touching it: copy a pipe or socket into it or out of it, hand its pages to
 * a pipe (vmsplice), let another process reach into it (process_vm_*,
 * /proc/PID/mem, ptrace), use a word of it as a futex, lock it. Each call
 * is one system call (or one forked helper doing it) through the addon; a
 * refusal is thrown as the syscall error, like every other call here.
 */
import type { Mapping } from './mapping';
import { native, nativeConstants } from './native';
import type { PatternMismatch } from './pattern';

/** How another process reaches into this one's memory. */
export type RemoteHow = 'process_vm' | 'proc_mem' | 'ptrace';

const HOW: Readonly<Record<RemoteHow, 0 | 1 | 2>> = { process_vm: 0, proc_mem: 1, ptrace: 2 };

/** A pair of file descriptors; close() closes both (a no-op the second time). */
export class FdPair {
  #open = true;
  constructor(
    readonly a: number,
    readonly b: number,
  ) {}

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    native().close(this.a);
    native().close(this.b);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** pipe2(2): `a` is the read end, `b` the write end. */
export function openPipe(): FdPair {
  const [r, w] = native().pipe();
  return new FdPair(r, w);
}

/** socketpair(2) of connected AF_UNIX stream sockets. */
export function openSocketPair(): FdPair {
  const [a, b] = native().socketPair();
  return new FdPair(a, b);
}

/**
 * read(2) from `fd` into the whole mapping (direction 'in') or write(2) of
 * it to `fd` ('out'), repeated until every byte moved or the file ends;
 * pread/pwrite from `position` when given (a block device opened O_DIRECT).
 * Returns the bytes moved.
 */
export function transferAll(map: Mapping, fd: number, direction: 'in' | 'out', position?: number): number {
  let done = 0;
  while (done < map.length) {
    const at = position === undefined ? undefined : position + done;
    const n = native().transfer(map.buffer, done, map.length - done, fd, direction === 'out', at);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** vmsplice(2) of the whole mapping into the pipe write end `fd`, until every byte went. */
export function vmspliceAll(map: Mapping, fd: number): number {
  let done = 0;
  while (done < map.length) {
    const n = native().vmsplice(map.buffer, done, map.length - done, fd);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** splice(2) of `length` bytes from `fdIn` to `fdOut`, until all moved or the input ends. */
export function spliceAll(fdIn: number, fdOut: number, length: number): number {
  let done = 0;
  while (done < length) {
    const n = native().splice(fdIn, fdOut, length - done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** What another process read from the mapping: bytes, and the first word that broke the pattern. */
export interface RemoteRead {
  bytes: number;
  mismatch: PatternMismatch | null;
}

/**
 * Another process (a forked child) reads the whole mapping of this one the
 * way `how` says, and what it got is checked against the device pattern
 * for `seed`.
 */
export function remoteRead(map: Mapping, how: RemoteHow, seed: number): RemoteRead {
  const r = native().remoteAccess(map.buffer, 0, map.length, HOW[how], false, seed, map.offset / 4);
  return { bytes: r.bytes, mismatch: r.mismatch };
}

/** Another process writes the device pattern for `seed` over the whole mapping the way `how` says; bytes written. */
export function remoteWrite(map: Mapping, how: RemoteHow, seed: number): number {
  return native().remoteAccess(map.buffer, 0, map.length, HOW[how], true, seed, map.offset / 4).bytes;
}

/** How a process-shared futex in the mapping worked: a wake found the waiting child, and how its wait ended. */
export interface FutexHandoff {
  woken: boolean;
  waiter: string;
}

/** A process-shared futex on the mapping's first word: wake, then a child waits and is woken. */
export function futexHandoff(map: Mapping): FutexHandoff {
  const r = native().futexHandoff(map.buffer, 0);
  return { woken: r.woken, waiter: r.waiter };
}

/** A private futex wait on the mapping's first word that must answer EAGAIN (the kernel read the word). */
export function futexWaitPrivate(map: Mapping): void {
  native().futexWaitPrivate(map.buffer, 0);
}

/**
 * /proc/self/smaps of a forked child after mlockall(MCL_CURRENT |
 * MCL_ONFAULT) (every mapping locked as it is faulted in, nothing populated
 * now): what locking the whole process does to each mapping, without
 * locking this one (whose runtime threads may madvise memory away, which
 * locked memory refuses).
 */
export function smapsAfterLockAll(): string {
  const sys = nativeConstants().sys;
  return native().childSmaps(sys.MCL_CURRENT | sys.MCL_ONFAULT);
}

/**
 * io_uring: one read from `fd` into the whole mapping ('in') or one write
 * of it to `fd` ('out'); `fixed`: the mapping registered as the ring's
 * buffer first (IORING_REGISTER_BUFFERS, which pins its pages). Bytes moved.
 */
export function ioUring(map: Mapping, fd: number, direction: 'in' | 'out', fixed: boolean): number {
  return native().ioUring(map.buffer, 0, map.length, fd, direction === 'out', fixed);
}

/** How a userfaultfd watches a range. */
export type UffdMode = 'missing' | 'wp' | 'minor';

const UFFD_MODES: Readonly<Record<UffdMode, 1 | 2 | 4>> = { missing: 1, wp: 2, minor: 4 };

/** Registers the whole mapping with a new userfaultfd in `mode`, then unregisters it; a refusal is thrown. */
export function uffdRegister(map: Mapping, mode: UffdMode): void {
  native().uffdRegister(map.buffer, UFFD_MODES[mode]);
}

/** A forked child holding a mapping, waiting to be released. */
export interface HeldChild {
  readonly pid: number;
  readonly fd: number;
  readonly firstIndex: number;
}

/** Forks a child that holds the mapping (this process may drop its own meanwhile). */
export function forkHold(map: Mapping): HeldChild {
  const h = native().forkHold(map.buffer);
  return { ...h, firstIndex: map.offset / 4 };
}

/**
 * The held child writes the pattern for `seed` through its mapping, reads
 * it back and exits: how it ended (exitCode 1: it read back other data).
 */
export function releaseHeld(child: HeldChild, seed: number): { exitCode: number | null; signal: number | null } {
  return native().forkRelease(child.pid, child.fd, seed, child.firstIndex);
}
