/**
 * The fuzzer inside the guest.
 *
 * Two processes. The worker (worker.ts -> fuzzLoop) runs the operations:
 * generated from the seed, or a given list (replays). Every `checkEvery`
 * operations and at the end it reads the kernel log records that arrived
 * since its last check (an open /dev/kmsg, read incrementally) and the taint
 * (O and E masked, as everywhere in mmaplab); a finding, new taint, or the
 * module accepting a hazard stops it. The supervisor (runFuzzJob, in the
 * guest agent) starts the worker and outlives it: a kernel oops kills the
 * task inside its system call, and a kernel that deadlocks leaves it stuck,
 * so the supervisor is what reports those, with the kernel log from the
 * worker's last check on and the index of the operation the worker was in
 * (a shared progress file, as the cell probe keeps one).
 *
 * Before each check the worker's CPU is taken offline and back online
 * (lib/runner/settle): pages freed to a per-CPU list are not checked by the
 * page allocator until they are drained, so a page freed twice would
 * otherwise pass silently.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapProgressFile, readProgressFile, resetProgressFile } from '../device/progress';
import {
  classifyWindow,
  currentSeq,
  describeFinding,
  type Finding,
  KMSG_PATH,
  KMSG_RECORD_MAX,
  type KmsgRecord,
  readSince,
  readTaint,
  taintGained,
  tryParseRecord,
} from '../kmsg';
import { moduleParam } from '../runner/module';
import { drainCpu, drainPerCpuPages, pinTo } from '../runner/settle';
import { MmaplabError } from '../util/errors';
import { type Outcome, FuzzTarget, fuzzerBug } from './exec';
import { type FuzzOp, generate } from './ops';
import {
  type FuzzComplaint,
  type FuzzComplaintKind,
  type FuzzJobOptions,
  type FuzzResult,
  type GuestMemory,
  MAX_KMSG_LINES,
  type WorkerMessage,
  type WorkerStart,
} from './types';

/**
 * The kernel log from now on, read incrementally: /dev/kmsg stays open and
 * each poll() returns the records logged since the previous one (the ring
 * buffer's older records are skipped once, at the start).
 */
export class KmsgTail {
  readonly #fd: number;
  readonly #buf = Buffer.alloc(KMSG_RECORD_MAX);
  /** Sequence number of the next record (last seen + 1). */
  nextSeq = 0;
  /** Records lost to ring-buffer overruns while reading. */
  overruns = 0;

  constructor(devicePath: string = KMSG_PATH) {
    this.#fd = fs.openSync(devicePath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    this.poll();
  }

  poll(): KmsgRecord[] {
    const out: KmsgRecord[] = [];
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.#fd, this.#buf, 0, this.#buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') {
          this.overruns++;
          continue;
        }
        if (code === 'EINTR') continue;
        throw err;
      }
      if (n === 0) break;
      const record = tryParseRecord(this.#buf.toString('utf8', 0, n));
      if (record === null) continue;
      this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
      out.push(record);
    }
    return out;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

/** A complaint from what a check saw; null when it saw nothing wrong. */
export function complaintOf(
  kind: FuzzComplaintKind,
  records: readonly KmsgRecord[],
  gained: readonly string[],
  at: { atOp: number; sinceOp: number; atEnd: boolean },
  headline?: string,
): FuzzComplaint | null {
  const findings: Finding[] = classifyWindow(records);
  if (kind === 'kernel' && findings.length === 0 && gained.length === 0) return null;
  const first = findings[0];
  return {
    kind,
    ...at,
    headline:
      headline ??
      (first !== undefined ? describeFinding(first) : `the kernel gained taint ${gained.join('')}`),
    kinds: findings.map((f) => f.kind),
    findings: findings.map(describeFinding),
    kmsg: records.slice(0, MAX_KMSG_LINES).map((r) => r.message),
    taintGained: [...gained],
  };
}

/** 'EINVAL: reason' (or the bare result) for a replay's per-operation record. */
function outcomeText(o: Outcome): string {
  return o.detail !== undefined ? `${o.result}: ${o.detail}` : o.result;
}

/** MemAvailable, Slab, VmallocUsed and Cached of /proc/meminfo (0 for a field that is missing). */
export function guestMemory(text: string = fs.readFileSync('/proc/meminfo', 'utf8')): GuestMemory {
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { availableKb: field('MemAvailable'), slabKb: field('Slab'), vmallocKb: field('VmallocUsed'), pageCacheKb: field('Cached') };
}

/** Operations between two progress messages, at most (see fuzzLoop). */
export const PROGRESS_EVERY = 200;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The worker's loop: runs the operations, checks the kernel every
 * `checkEvery`, closes everything at the end and checks once more. Sends
 * 'progress' after every check and 'done' with the result.
 */
export async function fuzzLoop(start: WorkerStart, send: (m: WorkerMessage) => Promise<void>): Promise<void> {
  const { options } = start;
  const cpu = drainCpu();
  const progress = mapProgressFile(start.progressPath);
  const tail = new KmsgTail();
  const taint0 = readTaint();
  const counts: Record<string, number> = {};
  // How the thread-pool calls ended, whenever they end.
  const target = new FuzzTarget(start.devicePath, (_op, o) => {
    counts[`async:${o.result}`] = (counts[`async:${o.result}`] ?? 0) + 1;
  });
  const ops: Iterator<FuzzOp> = options.replay !== null ? options.replay[Symbol.iterator]() : generate(options.seed);
  const limit = options.replay !== null ? options.replay.length : (options.ops ?? Number.POSITIVE_INFINITY);
  const outcomes: string[] | null = options.replay !== null ? [] : null;
  const t0 = Date.now();
  const deadline = options.seconds !== null ? t0 + options.seconds * 1000 : Number.POSITIVE_INFINITY;
  let done = 0;
  let reported = 0;
  let reportedAt = t0;
  let sinceOp = 0;
  let complaint: FuzzComplaint | null = null;
  let error: string | null = null;

  // Best effort: a process that cannot be pinned is fuzzed unpinned.
  const pin = (): void => {
    if (cpu === null) return;
    try {
      pinTo(process.pid, cpu);
    } catch {
      // best effort: the drain below still empties the CPU's lists
    }
  };
  pin();
  const check = (drain: boolean, atEnd: boolean): FuzzComplaint | null => {
    if (drain && cpu !== null) {
      try {
        if (drainPerCpuPages(cpu) !== null) pin();
      } catch {
        // a CPU that will not go offline: nothing to drain
      }
    }
    const taint = readTaint(); // before the log: a report precedes its taint bit
    const records = tail.poll();
    const c = complaintOf('kernel', records, taintGained(taint0, taint), { atOp: done - 1, sinceOp, atEnd });
    sinceOp = done;
    return c;
  };

  while (done < limit && Date.now() < deadline) {
    const next = ops.next();
    if (next.done === true) break;
    const op = next.value;
    progress.step[0] = done;
    let outcome: Outcome;
    try {
      outcome = await target.run(op);
    } catch (err) {
      error = fuzzerBug(op, err).message;
      break;
    }
    done++;
    counts[outcome.result] = (counts[outcome.result] ?? 0) + 1;
    outcomes?.push(outcomeText(outcome));
    if (outcome.result === 'violation') {
      complaint = complaintOf('violation', tail.poll(), [], { atOp: done - 1, sinceOp, atEnd: false }, `operation ${done - 1}: ${outcome.detail ?? 'violation'}`);
      break;
    }
    if (done % options.checkEvery === 0) {
      complaint = check(options.drain, false);
      if (complaint !== null) break;
      // At most one progress message per PROGRESS_EVERY operations or second (replays check every one).
      if (done - reported >= PROGRESS_EVERY || Date.now() - reportedAt >= 1000) {
        reported = done;
        reportedAt = Date.now();
        await send({ type: 'progress', done, elapsedMs: Date.now() - t0, nextSeq: tail.nextSeq, memory: guestMemory() });
      }
      await tick();
    }
  }
  if (error === null) {
    try {
      await target.closeAll();
    } catch (err) {
      error = `closing the sessions: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (complaint === null && error === null) {
    // Closing sessions frees buffers and ends stores: check that too, drained.
    const c = check(true, false);
    if (c !== null) complaint = { ...c, atOp: done - 1, atEnd: true };
  }
  progress.step[0] = -1;
  const result: FuzzResult = {
    seed: options.seed,
    replay: options.replay !== null,
    opsRun: done,
    elapsedMs: Date.now() - t0,
    counts,
    complaint,
    outcomes,
    error,
  };
  tail.close();
  await send({ type: 'done', result, nextSeq: tail.nextSeq });
}

export interface FuzzHooks {
  /** After each clean check: operations done so far, and the guest's memory. */
  onProgress?: (done: number, elapsedMs: number, memory: GuestMemory) => void;
  devicePath?: string;
}

const WORKER = path.join(__dirname, 'worker.js');

/**
 * Runs a fuzz job in this kernel (the module must be loaded with
 * allow_hazards=0) and returns its result; never rejects for what the
 * kernel does to the worker.
 */
export async function runFuzzJob(options: FuzzJobOptions, hooks: FuzzHooks = {}): Promise<FuzzResult> {
  const hazards = moduleParam('allow_hazards');
  if (hazards !== 'N' && hazards !== '0') {
    throw new MmaplabError('EFUZZHAZARDS', `the fuzzer runs only with allow_hazards=0 (the module has ${hazards ?? 'no such parameter'})`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fuzz-'));
  const progressPath = path.join(dir, 'progress');
  resetProgressFile(progressPath);
  const seq0 = currentSeq();
  const taint0 = readTaint();
  const t0 = Date.now();
  const start: WorkerStart = { type: 'start', options, devicePath: hooks.devicePath ?? '/dev/mmaplab', progressPath };

  let result: FuzzResult | null = null;
  let lastSeq = seq0;
  let lastDone = 0;
  let stalled = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  try {
    await new Promise<void>((resolve) => {
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let gone: NodeJS.Timeout | null = null;
      const watchdog = (): NodeJS.Timeout =>
        setTimeout(() => {
          stalled = true;
          child.kill('SIGKILL');
          // A task stuck in the kernel (D state) may never exit: report it anyway.
          gone = setTimeout(resolve, 10_000);
        }, options.stallMs);
      let timer = watchdog();
      child.on('message', (m: WorkerMessage) => {
        clearTimeout(timer);
        timer = watchdog();
        lastSeq = Math.max(lastSeq, m.nextSeq);
        if (m.type === 'progress') {
          lastDone = m.done;
          hooks.onProgress?.(m.done, m.elapsedMs, m.memory);
        } else {
          result = m.result;
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (gone !== null) clearTimeout(gone);
        exit = { code, signal };
        resolve();
      });
      child.on('error', () => undefined);
      child.send(start);
    });

    const gained = taintGained(taint0, readTaint()); // before the log: a report precedes its taint bit
    const window = readSince(lastSeq);
    const finished = result as FuzzResult | null;
    if (finished === null && !stalled && exit.signal === null) {
      // Not the kernel: the worker threw (its stack is on the console).
      return {
        seed: options.seed,
        replay: options.replay !== null,
        opsRun: lastDone,
        elapsedMs: Date.now() - t0,
        counts: {},
        complaint: null,
        outcomes: null,
        error: `the fuzz worker failed (exit status ${exit.code}); see the guest console`,
      };
    }
    if (finished === null) {
      const atOp = readProgressFile(progressPath).step;
      const how = stalled
        ? `the worker made no progress for ${Math.round(options.stallMs / 1000)} s in operation ${atOp}`
        : `the worker died (${exit.signal ?? `exit status ${exit.code}`}) in operation ${atOp}`;
      const c = complaintOf(stalled ? 'hang' : 'died', window.records, gained, { atOp, sinceOp: lastDone, atEnd: atOp < 0 }, how);
      const first = c?.findings[0];
      return {
        seed: options.seed,
        replay: options.replay !== null,
        opsRun: Math.max(atOp + 1, lastDone),
        elapsedMs: Date.now() - t0,
        counts: {},
        complaint: c === null ? null : { ...c, headline: first !== undefined ? `${how}: ${first}` : how },
        outcomes: null,
        error: null,
      };
    }
    if (finished.complaint === null && finished.error === null) {
      // The worker's own exit (its mm torn down) comes after its last check.
      const atOp = finished.opsRun - 1;
      finished.complaint = complaintOf('kernel', window.records, gained, { atOp, sinceOp: finished.opsRun, atEnd: true });
    }
    return finished;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
