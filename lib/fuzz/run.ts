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
    headline: headline ?? (first !== undefined ? describeFinding(first) : `the kernel gained taint ${gained.join('')}`),
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

/** One run of the worker: its operations, what it has seen of the kernel, and where it stands. */
class WorkerRun {
  readonly #options: FuzzJobOptions;
  readonly #cpu: number | null;
  readonly #progress: ReturnType<typeof mapProgressFile>;
  readonly tail: KmsgTail;
  readonly #taint0: number;
  readonly #counts: Record<string, number> = {};
  readonly #target: FuzzTarget;
  readonly #ops: Iterator<FuzzOp>;
  readonly #limit: number;
  readonly #outcomes: string[] | null;
  readonly #t0: number;
  readonly #deadline: number;
  #done = 0;
  #reported = 0;
  #reportedAt: number;
  #sinceOp = 0;
  #complaint: FuzzComplaint | null = null;
  #error: string | null = null;

  constructor(start: WorkerStart) {
    const { options } = start;
    this.#options = options;
    this.#cpu = drainCpu();
    this.#progress = mapProgressFile(start.progressPath);
    this.tail = new KmsgTail();
    this.#taint0 = readTaint();
    // How the thread-pool calls ended, whenever they end.
    this.#target = new FuzzTarget(start.devicePath, (_op, o) => this.#count(`async:${o.result}`));
    this.#ops = options.replay !== null ? options.replay[Symbol.iterator]() : generate(options.seed);
    this.#limit = options.replay !== null ? options.replay.length : (options.ops ?? Number.POSITIVE_INFINITY);
    this.#outcomes = options.replay !== null ? [] : null;
    this.#t0 = Date.now();
    this.#deadline = options.seconds !== null ? this.#t0 + options.seconds * 1000 : Number.POSITIVE_INFINITY;
    this.#reportedAt = this.#t0;
  }

  /** Pins the worker to the CPU that is drained. Best effort: a process that cannot be pinned is fuzzed unpinned. */
  pin(): void {
    if (this.#cpu === null) return;
    try {
      pinTo(process.pid, this.#cpu);
    } catch {
      // best effort: the drain below still empties the CPU's lists
    }
  }

  /** The kernel log and taint since the previous check (the CPU's page lists drained first when asked). */
  #check(drain: boolean, atEnd: boolean): FuzzComplaint | null {
    if (drain && this.#cpu !== null) {
      try {
        if (drainPerCpuPages(this.#cpu) !== null) this.pin();
      } catch {
        // a CPU that will not go offline: nothing to drain
      }
    }
    const taint = readTaint(); // before the log: a report precedes its taint bit
    const records = this.tail.poll();
    const c = complaintOf('kernel', records, taintGained(this.#taint0, taint), { atOp: this.#done - 1, sinceOp: this.#sinceOp, atEnd });
    this.#sinceOp = this.#done;
    return c;
  }

  #count(result: string): void {
    this.#counts[result] = (this.#counts[result] ?? 0) + 1;
  }

  /** Runs one operation and records its outcome; false when the run must stop (a fuzzer bug, a violation). */
  async #runOne(op: FuzzOp): Promise<boolean> {
    this.#progress.step[0] = this.#done;
    let outcome: Outcome;
    try {
      outcome = await this.#target.run(op);
    } catch (err) {
      this.#error = fuzzerBug(op, err).message;
      return false;
    }
    this.#done++;
    this.#count(outcome.result);
    this.#outcomes?.push(outcomeText(outcome));
    if (outcome.result === 'violation') {
      const at = this.#done - 1;
      const where = { atOp: at, sinceOp: this.#sinceOp, atEnd: false };
      this.#complaint = complaintOf('violation', this.tail.poll(), [], where, `operation ${at}: ${outcome.detail ?? 'violation'}`);
      return false;
    }
    return true;
  }

  /** The check every `checkEvery` operations, a progress message now and then, a turn of the event loop; false on a complaint. */
  async #checkpoint(send: (m: WorkerMessage) => Promise<void>): Promise<boolean> {
    this.#complaint = this.#check(this.#options.drain, false);
    if (this.#complaint !== null) return false;
    // At most one progress message per PROGRESS_EVERY operations or second (replays check every one).
    if (this.#done - this.#reported >= PROGRESS_EVERY || Date.now() - this.#reportedAt >= 1000) {
      this.#reported = this.#done;
      this.#reportedAt = Date.now();
      const elapsedMs = Date.now() - this.#t0;
      await send({ type: 'progress', done: this.#done, elapsedMs, nextSeq: this.tail.nextSeq, memory: guestMemory() });
    }
    await tick();
    return true;
  }

  /** Runs operations until the limit, the deadline, the end of a replay, a complaint or a fuzzer bug. */
  async runOperations(send: (m: WorkerMessage) => Promise<void>): Promise<void> {
    while (this.#done < this.#limit && Date.now() < this.#deadline) {
      const next = this.#ops.next();
      if (next.done === true) return;
      if (!(await this.#runOne(next.value))) return;
      if (this.#done % this.#options.checkEvery === 0 && !(await this.#checkpoint(send))) return;
    }
  }

  /** Closes every session and mapping and, when the run was clean, checks once more. */
  async closeUp(): Promise<void> {
    if (this.#error === null) {
      try {
        await this.#target.closeAll();
      } catch (err) {
        this.#error = `closing the sessions: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (this.#complaint === null && this.#error === null) {
      // Closing sessions frees buffers and ends stores: check that too, drained.
      const c = this.#check(true, false);
      if (c !== null) this.#complaint = { ...c, atOp: this.#done - 1, atEnd: true };
    }
    this.#progress.step[0] = -1;
  }

  result(): FuzzResult {
    return {
      seed: this.#options.seed,
      replay: this.#options.replay !== null,
      opsRun: this.#done,
      elapsedMs: Date.now() - this.#t0,
      counts: this.#counts,
      complaint: this.#complaint,
      outcomes: this.#outcomes,
      error: this.#error,
    };
  }
}

/**
 * The worker's loop: runs the operations, checks the kernel every
 * `checkEvery`, closes everything at the end and checks once more. Sends
 * 'progress' after every check and 'done' with the result.
 */
export async function fuzzLoop(start: WorkerStart, send: (m: WorkerMessage) => Promise<void>): Promise<void> {
  const run = new WorkerRun(start);
  run.pin();
  await run.runOperations(send);
  await run.closeUp();
  const result = run.result();
  run.tail.close();
  await send({ type: 'done', result, nextSeq: run.tail.nextSeq });
}

export interface FuzzHooks {
  /** After each clean check: operations done so far, and the guest's memory. */
  onProgress?: (done: number, elapsedMs: number, memory: GuestMemory) => void;
  devicePath?: string;
}

const WORKER = path.join(__dirname, 'worker.js');

/** The fuzzer runs only against a module that refuses hazards (allow_hazards=0). */
function requireHazardsRefused(): void {
  const hazards = moduleParam('allow_hazards');
  if (hazards !== 'N' && hazards !== '0') {
    throw new MmaplabError('EFUZZHAZARDS', `the fuzzer runs only with allow_hazards=0 (the module has ${hazards ?? 'no such parameter'})`);
  }
}

/** What the supervisor knew when it started the worker. */
interface Supervision {
  options: FuzzJobOptions;
  /** The file where the worker leaves the index of the operation it is in. */
  progressPath: string;
  taint0: number;
  t0: number;
}

/** How the worker ended, as far as the supervisor saw. */
interface WorkerEnd {
  /** Its 'done' message's result; null when it sent none. */
  result: FuzzResult | null;
  /** The kernel log's sequence number the worker had read up to. */
  lastSeq: number;
  /** Operations done at its last progress message. */
  lastDone: number;
  /** Killed by the watchdog: no message for stallMs. */
  stalled: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/**
 * Forks the worker and waits for it to end; a worker with no message for
 * stallMs is killed, and given up on 10 s later if it does not even exit
 * (a task stuck in the kernel).
 */
function superviseWorker(start: WorkerStart, seq0: number, hooks: FuzzHooks): Promise<WorkerEnd> {
  const end: WorkerEnd = { result: null, lastSeq: seq0, lastDone: 0, stalled: false, exit: { code: null, signal: null } };
  return new Promise<WorkerEnd>((resolve) => {
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let gone: NodeJS.Timeout | null = null;
    const watchdog = (): NodeJS.Timeout =>
      setTimeout(() => {
        end.stalled = true;
        child.kill('SIGKILL');
        // A task stuck in the kernel (D state) may never exit: report it anyway.
        gone = setTimeout(() => resolve(end), 10_000);
      }, start.options.stallMs);
    let timer = watchdog();
    child.on('message', (m: WorkerMessage) => {
      clearTimeout(timer);
      timer = watchdog();
      end.lastSeq = Math.max(end.lastSeq, m.nextSeq);
      if (m.type === 'progress') {
        end.lastDone = m.done;
        hooks.onProgress?.(m.done, m.elapsedMs, m.memory);
      } else {
        end.result = m.result;
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (gone !== null) clearTimeout(gone);
      end.exit = { code, signal };
      resolve(end);
    });
    child.on('error', () => undefined);
    child.send(start);
  });
}

/** A worker that ended without a result on its own (no signal, no stall): it threw, not the kernel. */
function workerFailed(job: Supervision, end: WorkerEnd): FuzzResult {
  return {
    seed: job.options.seed,
    replay: job.options.replay !== null,
    opsRun: end.lastDone,
    elapsedMs: Date.now() - job.t0,
    counts: {},
    complaint: null,
    outcomes: null,
    error: `the fuzz worker failed (exit status ${end.exit.code}); see the guest console`,
  };
}

/** A worker killed by a signal or stuck: a complaint at the operation it was in, with the kernel log since its last check. */
function workerLost(job: Supervision, end: WorkerEnd, records: readonly KmsgRecord[], gained: readonly string[]): FuzzResult {
  const atOp = readProgressFile(job.progressPath).step;
  const how = end.stalled
    ? `the worker made no progress for ${Math.round(job.options.stallMs / 1000)} s in operation ${atOp}`
    : `the worker died (${end.exit.signal ?? `exit status ${end.exit.code}`}) in operation ${atOp}`;
  const c = complaintOf(end.stalled ? 'hang' : 'died', records, gained, { atOp, sinceOp: end.lastDone, atEnd: atOp < 0 }, how);
  const first = c?.findings[0];
  return {
    seed: job.options.seed,
    replay: job.options.replay !== null,
    opsRun: Math.max(atOp + 1, end.lastDone),
    elapsedMs: Date.now() - job.t0,
    counts: {},
    complaint: c === null ? null : { ...c, headline: first !== undefined ? `${how}: ${first}` : how },
    outcomes: null,
    error: null,
  };
}

/** The job's result from how the worker ended, and the kernel log and taint since its last check. */
function judgeWorker(job: Supervision, end: WorkerEnd): FuzzResult {
  const gained = taintGained(job.taint0, readTaint()); // before the log: a report precedes its taint bit
  const window = readSince(end.lastSeq);
  const finished = end.result;
  if (finished === null && !end.stalled && end.exit.signal === null) return workerFailed(job, end);
  if (finished === null) return workerLost(job, end, window.records, gained);
  if (finished.complaint === null && finished.error === null) {
    // The worker's own exit (its mm torn down) comes after its last check.
    const atOp = finished.opsRun - 1;
    finished.complaint = complaintOf('kernel', window.records, gained, { atOp, sinceOp: finished.opsRun, atEnd: true });
  }
  return finished;
}

/**
 * Runs a fuzz job in this kernel (the module must be loaded with
 * allow_hazards=0) and returns its result; never rejects for what the
 * kernel does to the worker.
 */
export async function runFuzzJob(options: FuzzJobOptions, hooks: FuzzHooks = {}): Promise<FuzzResult> {
  requireHazardsRefused();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fuzz-'));
  const progressPath = path.join(dir, 'progress');
  resetProgressFile(progressPath);
  const seq0 = currentSeq();
  const job: Supervision = { options, progressPath, taint0: readTaint(), t0: Date.now() };
  const start: WorkerStart = { type: 'start', options, devicePath: hooks.devicePath ?? '/dev/mmaplab', progressPath };
  try {
    return judgeWorker(job, await superviseWorker(start, seq0, hooks));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
