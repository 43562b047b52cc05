/**
 * `mmaplab check` inside the guest: the user's module loaded, its device
 * node opened and mapped by each scenario of lib/check/types, with the
 * kernel log and taint read around each one.
 *
 * Nothing here knows the driver's data, so every touch is the pattern the
 * scenario wrote itself, and every touch that could fault is made by a
 * forked child (a SIGBUS kills the child, not the agent). The caller reads
 * a range only after a child has read all of it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as os from 'node:os';
import { isSyscallError } from '../device/errors';
import { checkPattern, type PatternMismatch, writePattern } from '../device/pattern';
import { native, nativeConstants } from '../device/native';
import { classifyWindow, currentSeq, describeFinding, readSince, readTaint, taintGained } from '../kmsg';
import { drainCpu, drainPerCpuPages, pinTo } from '../runner/settle';
import { setThpMode, type ThpMode, thpMode } from '../device/proc-self';
import { CGROUP_ROOT } from '../util/cgroup';
import { Prng } from '../fuzz/prng';
import { MmaplabError } from '../util/errors';
import { sleepSync } from '../util/sleep';
import { runHook } from './hook';
import { leakScenario } from './leak';
import { describeStep } from './setup';
import { type CheckSink, readUsesProgress, USE_CHILD_SCRIPT, type UsesOrder, writeUsesProgress } from './sink';
import {
  CHECK_SCENARIOS,
  checkFindingOf,
  type CheckItem,
  type CheckResult,
  type CheckScenario,
  type CheckTarget,
  type CheckUse,
  type CheckVerdict,
  isCheckUse,
  notRunResult,
} from './types';

/** What a scenario's body saw, before the kernel log is read. */
export interface Observed {
  verdict: CheckVerdict;
  detail: string;
}

/** Ended early with this observation (a refusal, a signal, bad data). */
class Stop extends Error {
  constructor(readonly observed: Observed) {
    super(observed.detail);
  }
}

const SIGNALS: Readonly<Record<number, string>> = { 7: 'SIGBUS', 11: 'SIGSEGV', 9: 'SIGKILL', 6: 'SIGABRT' };

function sys(): ReturnType<typeof nativeConstants>['sys'] {
  return nativeConstants().sys;
}

function page(): number {
  return nativeConstants().PAGE_SIZE;
}

/** An errno thrown by a system call becomes a 'refused' stop; anything else is the harness's. */
function refusedBy<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isSyscallError(err)) throw new Stop({ verdict: 'refused', detail: `${what}: ${err.code}` });
    throw err;
  }
}

/**
 * Open the node and run the setup steps on it. A node that cannot be
 * opened, or a failing step, is about the input (the node, its minor, the
 * setup file), not a scenario: an error that names it.
 */
export function openDevice(t: CheckTarget): number {
  let fd: number;
  try {
    fd = native().open(t.device, sys().O_RDWR | sys().O_CLOEXEC);
  } catch (err) {
    if (!isSyscallError(err)) throw err;
    throw new MmaplabError('ECHECKOPEN', `open ${t.device} read-write failed: ${err.code} (is it the right node, and minor?)`);
  }
  t.setup.forEach((step, i) => {
    try {
      if ('write' in step) fs.writeSync(fd, Buffer.from(step.write, 'hex'));
      else if (step.arg === null) native().ioctlNoArg(fd, step.ioctl);
      else native().ioctl(fd, step.ioctl, new Uint8Array(Buffer.from(step.arg, 'hex')));
    } catch (err) {
      native().close(fd);
      const why = isSyscallError(err) ? err.code : (err as Error).message;
      throw new MmaplabError('ECHECKSETUP', `setup step ${i + 1} (${describeStep(step)}) on ${t.device} failed: ${why}`);
    }
  });
  if (t.hook !== null) {
    try {
      runHook(t.hook, fd, t.device, native());
    } catch (err) {
      native().close(fd);
      const why = isSyscallError(err) ? `${err.code} (${err.message})` : err instanceof Error ? err.message : String(err);
      throw new MmaplabError('ECHECKSETUP', `setup hook ${t.hook.file} on ${t.device} failed: ${why}`);
    }
  }
  return fd;
}

function mapShared(fd: number, length: number, priv = false, offset = 0): ArrayBuffer {
  const flags = priv ? sys().MAP_PRIVATE : sys().MAP_SHARED;
  return refusedBy(`mmap ${length} B ${priv ? 'private' : 'shared'}${offset > 0 ? ` at offset ${offset}` : ''}`, () =>
    native().mmap(fd, length, sys().PROT_READ | sys().PROT_WRITE, flags, offset),
  );
}

/** A child touches [offset, offset + length): 0 reads, 2 writes the pattern of `seed`. */
function childTouch(buf: ArrayBuffer, offset: number, length: number, mode: 0 | 2, seed: number): void {
  const r = native().forkTouch(buf, offset, length, mode, seed, offset / 4);
  if (r.signal !== null) {
    const name = SIGNALS[r.signal] ?? `signal ${r.signal}`;
    throw new Stop({ verdict: 'signal', detail: `a child ${mode === 2 ? 'writing' : 'reading'} page ${r.page ?? '?'} got ${name}` });
  }
  if (r.exitCode !== 0) throw new MmaplabError('ECHECK', `a touching child exited with ${r.exitCode}`);
}

/** A child reads the range, then the caller checks that its first `length` bytes hold the pattern of `seed`. */
function expectPattern(buf: ArrayBuffer, seed: number, firstIndex: number, what: string, length = buf.byteLength): void {
  childTouch(buf, 0, length, 0, seed);
  const bad = checkPattern(new Uint32Array(buf, 0, length / 4), seed, firstIndex);
  if (bad !== null) throw new Stop({ verdict: 'data-mismatch', detail: describeMismatch(what, bad) });
}

function rmmod(name: string): { ok: boolean; message: string } {
  const r = spawnSync('rmmod', [name], { encoding: 'utf8' });
  return { ok: r.status === 0, message: (r.stderr || r.stdout || '').trim() };
}

/**
 * What an rmmod refused for a held module says: kmod's rmmod reads the
 * refcount itself ("is in use"); busybox's passes delete_module's
 * EWOULDBLOCK through strerror (a restored guest has busybox's).
 */
const IN_USE = /in use|resource temporarily unavailable/i;

/** The module's reference count, or null when /sys/module has none for it. */
function moduleRefcount(name: string): number | null {
  try {
    const n = Number(fs.readFileSync(`/sys/module/${name}/refcnt`, 'utf8').trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** mmap calls the mmap-args scenario makes. */
const MMAP_ARGS_TRIES = 40;

/**
 * `tries` mmap calls with seeded arguments on one descriptor; each mapping
 * a child reads whole, then it goes. Refusals and signals are counted, not
 * stopped at: only the kernel log can make this a finding.
 */
function mmapArgs(t: CheckTarget, seed: number, tries: number): Observed {
  const p = page();
  const r = new Prng(seed);
  const counts = new Map<string, number>();
  const count = (k: string): void => void counts.set(k, (counts.get(k) ?? 0) + 1);
  const fd = openDevice(t);
  try {
    for (let i = 0; i < tries; i++) {
      // page multiples only: the addon refuses an unaligned offset before the kernel sees it
      const offset = r.pick([0, p, t.size - p, t.size, t.size + p, p * r.below(t.size / p + 2)]);
      // never 0: the addon refuses an empty mapping before the kernel sees it
      const length = r.pick([p, t.size, Math.max(p, t.size - offset), Math.max(1, t.size - offset + p), 2 * t.size, 1, p + 1]);
      const prot = r.pick([sys().PROT_READ, sys().PROT_READ | sys().PROT_WRITE, sys().PROT_NONE]);
      const flags = r.chance(0.7) ? sys().MAP_SHARED : sys().MAP_PRIVATE;
      let buf: ArrayBuffer;
      try {
        buf = native().mmap(fd, length, prot, flags, offset);
      } catch (err) {
        if (!isSyscallError(err)) throw err;
        count(err.code);
        continue;
      }
      try {
        const touched = native().forkTouch(buf, 0, buf.byteLength, 0, 0, 0);
        count(touched.signal !== null ? (SIGNALS[touched.signal] ?? `signal ${touched.signal}`) : 'mapped and read');
      } finally {
        native().munmap(buf);
      }
    }
  } finally {
    native().close(fd);
  }
  const said = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return { verdict: 'ok', detail: `${tries} mmap calls: ${said.join(', ')}` };
}

const hexOf = (n: number): string => `0x${n.toString(16)}`;

/** A data check that failed, for people: where, what it held, what was written. */
export function describeMismatch(what: string, m: PatternMismatch): string {
  return `${what}: byte ${m.offset} holds ${hexOf(m.found)}, not ${hexOf(m.expected)}`;
}

/**
 * A read(2) or write(2) of the device at offset 0: the byte count, or, when
 * the driver has none (EINVAL, as the VFS answers for a file without the
 * method) or the file is a stream (ESPIPE), why not. Any other errno is the
 * driver refusing: a Stop.
 */
function fileCall(fn: () => number): number | string {
  try {
    const n = fn();
    return n === 0 ? 'it moved nothing at offset 0' : n;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') return 'EINVAL';
    // a stream (nonseekable_open, stream_open): no read or write at an offset, whatever the driver has
    if (code === 'ESPIPE') return 'ESPIPE: a stream, no offset';
    if (typeof code === 'string') throw new Stop({ verdict: 'refused', detail: `${(err as Error).message.split(',')[0]}` });
    throw err;
  }
}

/** Open the node, map `length` bytes, run `fn` on the mapping; unmap and close whatever happens. */
function withMapping<T>(t: CheckTarget, length: number, priv: boolean, fn: (buf: ArrayBuffer, fd: number) => T): T {
  const fd = openDevice(t);
  try {
    const buf = mapShared(fd, length, priv);
    try {
      return fn(buf, fd);
    } finally {
      native().munmap(buf);
    }
  } finally {
    native().close(fd);
  }
}

/** Open the node, map the buffer, close the descriptor at once; the caller unmaps. */
function mappedThenClosed(t: CheckTarget): ArrayBuffer {
  const fd = openDevice(t);
  try {
    return mapShared(fd, t.size);
  } finally {
    native().close(fd);
  }
}

/** Each scenario's body; throws Stop for what it observed, returns for ok. */
const BODIES: Readonly<Record<CheckScenario, (t: CheckTarget, seed: number) => Observed>> = {
  'map-write-read': (t, seed) =>
    withMapping(t, t.size, false, (buf) => {
      childTouch(buf, 0, t.size, 2, seed);
      expectPattern(buf, seed, 0, 'read back through the mapping');
      return { verdict: 'ok', detail: `${t.size / page()} pages written and read back` };
    }),
  'second-mapping': (t, seed) =>
    withMapping(t, t.size, false, (a, fd) => {
      childTouch(a, 0, t.size, 2, seed);
      const b = mapShared(fd, t.size);
      try {
        expectPattern(b, seed, 0, 'the second mapping');
      } finally {
        native().munmap(b);
      }
      return { verdict: 'ok', detail: 'the second mapping read what the first wrote' };
    }),
  'dontneed-retouch': (t, seed) =>
    withMapping(t, t.size, false, (buf) => {
      childTouch(buf, 0, t.size, 2, seed);
      childTouch(buf, 0, t.size, 0, seed);
      refusedBy('madvise(MADV_DONTNEED)', () => native().madvise(buf, sys().MADV_DONTNEED));
      expectPattern(buf, seed, 0, 'after MADV_DONTNEED');
      return { verdict: 'ok', detail: 'the data came back after MADV_DONTNEED' };
    }),
  private: (t, seed) =>
    withMapping(t, t.size, false, (shared, fd) => {
      childTouch(shared, 0, t.size, 2, seed);
      const priv = mapShared(fd, t.size, true);
      try {
        expectPattern(priv, seed, 0, 'the private mapping before any write');
        // the child writes its own copy: none of it may reach the buffer
        childTouch(priv, 0, t.size, 2, (seed ^ 0x5a5a5a5a) >>> 0);
        expectPattern(shared, seed, 0, 'the buffer after a child wrote its private mapping');
      } finally {
        native().munmap(priv);
      }
      return { verdict: 'ok', detail: "the private mapping showed the buffer, and a child's writes to it stayed private" };
    }),
  'offset-map': (t, seed) => {
    const p = page();
    if (t.size < 2 * p) return { verdict: 'not-run', detail: 'the buffer is under two pages' };
    return withMapping(t, t.size, false, (whole, fd) => {
      childTouch(whole, 0, t.size, 2, seed);
      const rest = mapShared(fd, t.size - p, false, p);
      try {
        expectPattern(rest, seed, p / 4, `a mapping at offset ${p}`);
      } finally {
        native().munmap(rest);
      }
      return { verdict: 'ok', detail: `a mapping at offset ${p} showed the buffer from its second page on` };
    });
  },
  'partial-munmap': (t, seed) => {
    const p = page();
    if (t.size < 3 * p) return { verdict: 'not-run', detail: 'the buffer is under three pages' };
    // withMapping's munmap of the whole does nothing once the range is split
    return withMapping(t, t.size, false, (buf) => {
      childTouch(buf, 0, t.size, 2, seed);
      const parts = refusedBy('munmap of the second page', () => native().munmapRange(buf, p, p));
      try {
        const [head, tail] = parts;
        if (head === undefined || tail === undefined)
          throw new MmaplabError('ECHECK', `munmap of the second page left ${parts.length} parts`);
        expectPattern(head, seed, 0, 'the first page');
        expectPattern(tail, seed, (2 * p) / 4, 'the pages after the hole');
      } finally {
        for (const part of parts) native().munmap(part);
      }
      return { verdict: 'ok', detail: 'both sides of the hole kept their data' };
    });
  },
  'kernel-copies': (t, seed) =>
    withMapping(t, t.size, false, (buf) => {
      // a pipe holds 64 KiB: the first 64 KiB of the buffer at most
      const len = Math.min(t.size, 64 * 1024);
      childTouch(buf, 0, t.size, 2, seed);
      childTouch(buf, 0, t.size, 0, seed);
      const [r, w] = native().pipe();
      try {
        const out = refusedBy('write(2) of the mapping to a pipe', () => native().transfer(buf, 0, len, w, true));
        const got = Buffer.alloc(out);
        fs.readSync(r, got, 0, out, null);
        const bad = checkPattern(new Uint32Array(got.buffer, got.byteOffset, out / 4), seed);
        if (out !== len || bad !== null) {
          const where = bad !== null ? `, byte ${bad.offset} wrong` : '';
          throw new Stop({ verdict: 'data-mismatch', detail: `write(2) of the mapping moved ${out} of ${len} bytes${where}` });
        }
        const next = Buffer.alloc(len);
        writePattern(new Uint32Array(next.buffer, next.byteOffset, len / 4), seed + 1);
        fs.writeSync(w, next);
        const inn = refusedBy('read(2) from a pipe into the mapping', () => native().transfer(buf, 0, len, r, false));
        if (inn !== len) throw new Stop({ verdict: 'data-mismatch', detail: `read(2) moved ${inn} of ${len} bytes` });
      } finally {
        native().close(r);
        native().close(w);
      }
      expectPattern(buf, seed + 1, 0, 'after read(2) into the mapping', len);
      return { verdict: 'ok', detail: `the kernel copied ${len} bytes out of the mapping and into it` };
    }),
  'read-write': (t, seed) =>
    withMapping(t, t.size, false, (buf, fd) => {
      childTouch(buf, 0, t.size, 2, seed);
      childTouch(buf, 0, t.size, 0, seed);
      const said: string[] = [];
      // read(2) at offset 0 must give what the mapping holds there
      const got = Buffer.alloc(t.size);
      const n = fileCall(() => fs.readSync(fd, got, 0, t.size, 0));
      if (typeof n === 'string') said.push(`no read(2) (${n})`);
      else {
        const bad = checkPattern(new Uint32Array(got.buffer, got.byteOffset, Math.floor(n / 4)), seed);
        if (bad !== null) {
          throw new Stop({
            verdict: 'data-mismatch',
            detail: `read(2) at offset 0: byte ${bad.offset} holds ${hexOf(bad.found)}, the mapping ${hexOf(bad.expected)}`,
          });
        }
        said.push(`read(2) gave the mapping's first ${n} bytes`);
      }
      // what write(2) puts at offset 0 the mapping must show
      const next = Buffer.alloc(t.size);
      writePattern(new Uint32Array(next.buffer, next.byteOffset, t.size / 4), seed + 1);
      const w = fileCall(() => fs.writeSync(fd, next, 0, t.size, 0));
      if (typeof w === 'string') said.push(`no write(2) (${w})`);
      else {
        expectPattern(buf, seed + 1, 0, `the mapping after write(2) of ${w} bytes`, Math.floor(w / 4) * 4);
        said.push(`the mapping showed the ${w} bytes write(2) put there`);
      }
      if (typeof n === 'string' && typeof w === 'string') {
        return { verdict: 'not-run', detail: `the driver has neither read(2) nor write(2): ${said.join(', ')}` };
      }
      return { verdict: 'ok', detail: said.join('; ') };
    }),
  'gup-pin': (t, seed) =>
    withMapping(t, t.size, false, (buf) => {
      childTouch(buf, 0, t.size, 2, seed);
      const [r, w] = native().pipe();
      try {
        const n = refusedBy('vmsplice(2) of the mapping', () => native().vmsplice(buf, 0, page(), w));
        return { verdict: 'ok', detail: `vmsplice pinned ${n} bytes of the mapping` };
      } finally {
        native().close(r);
        native().close(w);
      }
    }),
  'mremap-grow': (t) => {
    const fd = openDevice(t);
    try {
      const buf = mapShared(fd, t.size);
      let grown: ArrayBuffer;
      try {
        grown = native().mremap(buf, t.size + page(), true);
      } catch (err) {
        native().munmap(buf);
        if (isSyscallError(err)) throw new Stop({ verdict: 'refused', detail: `mremap to ${t.size + page()} B: ${err.code}` });
        throw err;
      }
      try {
        childTouch(grown, t.size, page(), 0, 0);
      } finally {
        native().munmap(grown);
      }
    } finally {
      native().close(fd);
    }
    return { verdict: 'ok', detail: 'grown by a page, and a child read the page past the buffer without a fault' };
  },
  'past-end': (t) =>
    withMapping(t, t.size + page(), false, (buf) => {
      childTouch(buf, t.size, page(), 0, 0);
      return { verdict: 'ok', detail: 'mapped one page past the buffer, and a child read it without a fault' };
    }),
  'mmap-args': (t, seed) => mmapArgs(t, seed, MMAP_ARGS_TRIES),
  'map-unmap-leak': (t) => leakScenario(t, openDevice),
  'close-before-unmap': (t, seed) => {
    const buf = mappedThenClosed(t);
    try {
      childTouch(buf, 0, t.size, 2, seed);
      expectPattern(buf, seed, 0, 'after close');
    } finally {
      native().munmap(buf);
    }
    return { verdict: 'ok', detail: 'the mapping worked after close(2), and went with munmap' };
  },
  'unload-while-mapped': (t) => {
    const buf = mappedThenClosed(t);
    try {
      const held = moduleRefcount(t.moduleName);
      const refs = held === null ? 'no refcount in /sys/module' : `refcount ${held}`;
      const r = rmmod(t.moduleName);
      if (r.ok) return { verdict: 'unload-allowed', detail: `rmmod ${t.moduleName} succeeded while the buffer was mapped (${refs})` };
      // only "in use" from a held module says the mapping holds it; any other failure says nothing of it
      if (held === null || held === 0 || !IN_USE.test(r.message)) {
        return { verdict: 'refused', detail: `rmmod failed, but not for being in use (${refs}): ${r.message}` };
      }
      return { verdict: 'ok', detail: `rmmod refused, the module held (${refs}): ${r.message}` };
    } finally {
      native().munmap(buf);
    }
  },
  unload: (t) => {
    if (!fs.existsSync(`/sys/module/${t.moduleName}`)) {
      return { verdict: 'not-run', detail: `${t.moduleName} is not loaded (unloaded while mapped, or never under this name)` };
    }
    const r = rmmod(t.moduleName);
    if (!r.ok) return { verdict: 'refused', detail: `rmmod ${t.moduleName}: ${r.message}` };
    return { verdict: 'ok', detail: 'unloaded' };
  },
};

/**
 * One scenario with its kernel-log window, from `since` (where the last
 * window ended, so nothing logged between scenarios is lost); frees are
 * drained before the window closes. Returns where the next window starts.
 */
export function runScenario(
  scenario: CheckScenario,
  t: CheckTarget,
  seed: number,
  since: number = currentSeq(),
): { result: CheckResult; nextSeq: number } {
  return runWindowed(scenario, () => BODIES[scenario](t, seed), since);
}

/**
 * A scenario's or use's body between a kernel-log window's start (`since`)
 * and its end, with the taint read on both sides and frees drained before
 * the window closes: its result, and where the next window starts.
 */
export function runWindowed(item: CheckItem, body: () => Observed, since: number): { result: CheckResult; nextSeq: number } {
  const cpu = drainCpu();
  if (cpu !== null) pinTo(process.pid, cpu);
  const t0 = Date.now();
  const taint0 = readTaint();
  let observed: Observed;
  try {
    observed = body();
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    observed = err.observed;
  }
  drainPerCpuPages(cpu);
  return withKernelLog(item, observed, since, taint0, Date.now() - t0);
}

/**
 * The result of what a body observed, made a kernel complaint when the
 * kernel log from `since` has a finding or taint was gained since `taint0`.
 */
export function withKernelLog(
  item: CheckItem,
  observed: Observed,
  since: number,
  taint0: number,
  durationMs: number,
): { result: CheckResult; nextSeq: number } {
  const window = readSince(since);
  const found = classifyWindow(window.records);
  const gained = taintGained(taint0, readTaint());
  const result: CheckResult = {
    scenario: item,
    verdict: observed.verdict,
    detail: observed.detail,
    findings: found.map(checkFindingOf),
    taintGained: gained,
    kmsg: [],
    durationMs,
  };
  const first = found[0];
  if (first !== undefined || gained.length > 0) {
    result.verdict = 'kernel-complaint';
    result.detail = first !== undefined ? describeFinding(first) : `taint gained: ${gained.join('')}`;
    result.kmsg = window.records.map((r) => r.message);
  }
  return { result, nextSeq: window.nextSeq };
}

/** The char devices of /proc/devices: name -> major. */
function charMajors(): Map<string, number> {
  const out = new Map<string, number>();
  let inChar = false;
  for (const line of fs.readFileSync('/proc/devices', 'utf8').split('\n')) {
    if (/^Character devices:/.test(line)) inChar = true;
    else if (/^Block devices:/.test(line)) inChar = false;
    else if (inChar) {
      const [, major, name] = /^\s*(\d+)\s+(\S+)$/.exec(line) ?? [];
      if (major !== undefined && name !== undefined) out.set(name, Number(major));
    }
  }
  return out;
}

/**
 * The node a driver did not make (register_chrdev, as LDD3's scull): made
 * from its entry in /proc/devices, the one named by t.chrdev or the one
 * entry the module added. What was done, for the report.
 */
function makeNode(t: CheckTarget, before: Map<string, number>): string | null {
  const added = [...charMajors()].filter(([name, major]) => before.get(name) !== major);
  const pick = t.chrdev !== null ? added.find(([name]) => name === t.chrdev) : added.length === 1 ? added[0] : undefined;
  if (pick === undefined) {
    if (t.chrdev !== null || added.length > 1) {
      const names = added.map(([n, m]) => `${n} (${m})`).join(', ') || 'none';
      throw new MmaplabError(
        'ECHECKDEVICE',
        `${t.device} did not appear; char devices the module registered: ${names}${t.chrdev === null ? ' (pick one with --chrdev NAME)' : ''}`,
      );
    }
    return null;
  }
  const [name, major] = pick;
  const r = spawnSync('mknod', ['-m', '0600', t.device, 'c', String(major), String(t.minor)], { encoding: 'utf8' });
  if (r.status !== 0) throw new MmaplabError('ECHECKDEVICE', `mknod ${t.device} c ${major} ${t.minor}: ${(r.stderr || r.stdout).trim()}`);
  return `${t.device} made from /proc/devices: ${name}, major ${major}, minor ${t.minor}`;
}

/**
 * The shell pattern of a node's name as a regular expression: * and ?,
 * [...] and [!...] (or [^...]); an unclosed [ is a literal [.
 */
export function patternRegExp(name: string): RegExp {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charAt(i);
    const close = c === '[' ? name.indexOf(']', i + 2) : -1;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (close > 0) {
      const body = name.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      const set = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&');
      out += `[${negated ? '^' : ''}${set}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** A pattern in the node's name (not its directory): *, ? and [...] as in the shell. */
export function isDevicePattern(device: string): boolean {
  return /[*?[]/.test(nodePath.basename(device));
}

/** The nodes a pattern matches now, in natural order (mydrv2 before mydrv10). */
export function matchingNodes(pattern: string, names: readonly string[]): string[] {
  const re = patternRegExp(nodePath.basename(pattern));
  const dir = nodePath.dirname(pattern);
  return names
    .filter((n) => re.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => nodePath.join(dir, n));
}

/** The node to check now: the device itself, or the first node its pattern matches; null while none exists. */
function currentNode(device: string): string | null {
  if (!isDevicePattern(device)) return fs.existsSync(device) ? device : null;
  let names: string[];
  try {
    names = fs.readdirSync(nodePath.dirname(device));
  } catch {
    return null;
  }
  return matchingNodes(device, names)[0] ?? null;
}

/** What loading the module gave: the target with its node named, and how the node came to be, or null. */
export interface LoadedTarget {
  target: CheckTarget;
  note: string | null;
  /** Every node a --device pattern matched, in natural order (the first is checked); empty for a plain node. */
  nodes: string[];
}

/**
 * insmod the user's module and wait for its node (the first a pattern
 * matches), or make it from /proc/devices when the driver registers a
 * region without one. A node that never appears is an error that names
 * the nodes and char devices that did.
 */
export function loadUserModule(path: string, params: Record<string, string>, t: CheckTarget): LoadedTarget {
  const before = new Set(fs.readdirSync('/dev'));
  const majors = charMajors();
  const r = spawnSync('insmod', [path, ...Object.entries(params).map(([k, v]) => `${k}=${v}`)], { encoding: 'utf8' });
  if (r.status !== 0) {
    const log = readSince(0)
      .records.slice(-15)
      .map((x) => x.message);
    throw new MmaplabError('ECHECKLOAD', `insmod ${path} failed: ${(r.stderr || r.stdout).trim()}\nkernel log:\n${log.join('\n')}`);
  }
  let node = currentNode(t.device);
  for (let i = 0; i < 200 && node === null; i++) {
    sleepSync(10);
    node = currentNode(t.device);
  }
  if (node !== null) {
    if (!isDevicePattern(t.device)) return { target: t, note: null, nodes: [] };
    // the module's other nodes come up with the first (devtmpfs makes them as it registers them): a moment for the rest
    sleepSync(100);
    const all = matchingNodes(t.device, fs.readdirSync(nodePath.dirname(t.device)));
    return { target: { ...t, device: node }, note: `${t.device} matched ${all.join(', ')}: checking ${node}`, nodes: all };
  }
  if (isDevicePattern(t.device)) {
    const appeared = fs.readdirSync('/dev').filter((n) => !before.has(n));
    throw new MmaplabError(
      'ECHECKDEVICE',
      `no node matched ${t.device} within 2 s of loading the module; new in /dev: ${appeared.map((n) => `/dev/${n}`).join(', ') || 'nothing'}`,
    );
  }
  const made = makeNode(t, majors);
  if (made !== null) return { target: t, note: made, nodes: [] };
  const appeared = fs.readdirSync('/dev').filter((n) => !before.has(n));
  throw new MmaplabError(
    'ECHECKDEVICE',
    `${t.device} did not appear within 2 s of loading the module, and it registered no char device to make it from; ` +
      `new in /dev: ${appeared.length > 0 ? appeared.map((n) => `/dev/${n}`).join(', ') : 'nothing'}`,
  );
}

/** Why a use child's process ended, for people. */
function childEnd(r: { status: number | null; signal: NodeJS.Signals | null }): string {
  return r.signal !== null ? `died of ${r.signal}` : `exited with status ${r.status}`;
}

/**
 * The uses in a process of their own (lib/check/use-child), which reports
 * each one itself, so a use whose touch kills its process (a SIGBUS in the
 * mapping) is that use's 'signal', and the rest go on in a new process.
 * The process keeps its progress in a file: the use in flight and where
 * its kernel-log window began. Stops, like the scenarios, after a kernel
 * complaint.
 */
function runUsesInChild(t: CheckTarget, uses: readonly CheckUse[], sink: CheckSink, since: number): { stopped: boolean; nextSeq: number } {
  let left = [...uses];
  let seq = since;
  const progressFile = nodePath.join(os.tmpdir(), `mmaplab-check-uses-${process.pid}.json`);
  const orderFile = nodePath.join(os.tmpdir(), `mmaplab-check-order-${process.pid}.json`);
  while (left.length > 0) {
    writeUsesProgress(progressFile, { inFlight: null, since: seq, taint: readTaint(), done: [], stopped: false });
    const order: UsesOrder = { target: t, uses: left, eventsFile: sink.eventsFile, progressFile, marks: sink.marks };
    // in a file: a hook's source may be longer than one argument may be
    fs.writeFileSync(orderFile, JSON.stringify(order));
    const globals = globalSettings();
    const r = spawnSync(process.execPath, [USE_CHILD_SCRIPT, orderFile], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    const p = readUsesProgress(progressFile);
    if (p.stopped) return { stopped: true, nextSeq: p.since };
    left = left.filter((u) => !p.done.includes(u));
    if (r.status === 0 && r.signal === null) return { stopped: false, nextSeq: p.since };
    // what the dead process set and would have put back in a finally
    const putBack = restoreGlobalSettings(globals);
    const after = putBack.length > 0 ? ` (${putBack.join('; ')})` : '';
    const stderr = (r.stderr ?? '').trim().split('\n').slice(-3).join(' ');
    if (p.inFlight === null) {
      // it died between uses: the uses not reported did not run
      for (const u of left) sink.report(notRunResult(u, `the process running the uses ${childEnd(r)} before this use: ${stderr}`));
      return { stopped: false, nextSeq: p.since };
    }
    // The use in flight killed its process: its verdict, from the kernel log since it began.
    const died: Observed =
      r.signal !== null
        ? { verdict: 'signal', detail: `the process running the use died of ${r.signal}${after}` }
        : { verdict: 'not-run', detail: `the use failed: ${stderr}${after}` };
    const { result, nextSeq } = withKernelLog(p.inFlight, died, p.since, p.taint, 0);
    sink.report(result);
    seq = nextSeq;
    left = left.filter((u) => u !== p.inFlight);
    if (result.verdict === 'kernel-complaint') return { stopped: true, nextSeq };
  }
  return { stopped: false, nextSeq: seq };
}

/** System-wide settings a use changes and puts back in a finally: the THP switch. */
interface GlobalSettings {
  thp: ThpMode | null;
}

function globalSettings(): GlobalSettings {
  return { thp: thpMode() };
}

/** Puts back what a use that died could not, and removes the cgroups it left; what it did, for people. */
function restoreGlobalSettings(g: GlobalSettings): string[] {
  const did: string[] = [];
  const now = thpMode();
  if (g.thp !== null && now !== g.thp) {
    setThpMode(g.thp);
    did.push(`the THP switch put back from ${now ?? '?'} to ${g.thp}`);
  }
  let names: string[] = [];
  try {
    names = fs.readdirSync(CGROUP_ROOT).filter((n) => n.startsWith('mmaplab-use-'));
  } catch {
    return did;
  }
  for (const n of names) {
    try {
      fs.rmdirSync(nodePath.join(CGROUP_ROOT, n));
      did.push(`cgroup ${n} removed`);
    } catch {
      // a process still in it: the kernel keeps it until that one exits
    }
  }
  return did;
}

/**
 * The scenarios and uses in order, each reported as it ends. Stops after one the
 * kernel complained in: what follows runs in a fresh VM (the host's
 * choice), since a damaged kernel, or a WARN_ONCE already spent, proves
 * nothing about the next scenario.
 */
export function runCheckScenarios(t: CheckTarget, items: readonly CheckItem[], sink: CheckSink): void {
  let since = currentSeq();
  for (const group of itemGroups(items)) {
    if (Array.isArray(group)) {
      // the uses in a row run in a process of their own (lib/check/uses)
      const ran = runUsesInChild(t, group, sink, since);
      if (ran.stopped) return;
      since = ran.nextSeq;
      continue;
    }
    const scenario = group;
    sink.started(scenario);
    // the same seed for a scenario in whatever VM it runs
    const { result, nextSeq } = runScenario(scenario, t, 0x5eed + CHECK_SCENARIOS.indexOf(scenario), since);
    since = nextSeq;
    sink.report(result);
    if (result.verdict === 'kernel-complaint') return;
  }
}

/** The items in order, each scenario alone and the uses in a row together. */
function itemGroups(items: readonly CheckItem[]): Array<CheckScenario | CheckUse[]> {
  const groups: Array<CheckScenario | CheckUse[]> = [];
  for (const item of items) {
    const last = groups.at(-1);
    if (!isCheckUse(item)) groups.push(item);
    else if (Array.isArray(last)) last.push(item);
    else groups.push([item]);
  }
  return groups;
}
