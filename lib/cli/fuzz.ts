/**
 * `mmaplab fuzz`: the ioctl/mmap fuzzer (lib/fuzz) on each selected kernel,
 * in QEMU, with the module loaded with allow_hazards=0.
 *
 * One VM per kernel runs the seeded sequence until --ops or --seconds, or
 * until the kernel complains. A complaint is then minimised from the host:
 * the operations are regenerated from the seed (the generator is pure), and
 * candidate subsequences are replayed in fresh VMs (a complaint may have
 * damaged the kernel, and a WARN_ON_ONCE says nothing the second time in
 * one boot), at most --max-replays boots per kernel. The first replay runs
 * the whole log with a check after every operation, which both confirms
 * the complaint and cuts the log at the operation after which it first
 * appeared; delta debugging does the rest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifyConsole } from '../vm/console';
import { minimise } from '../fuzz/minimise';
import { describeOp, type FuzzOp, formatOpList, generateOps, READ_ONLY_OPS, slotSlice } from '../fuzz/ops';
import { clockSeed } from '../fuzz/prng';
import type { FuzzComplaint, FuzzJobOptions, FuzzResult, GuestMemory } from '../fuzz/types';
import { MmaplabError } from '../util/errors';
import type { GuestEvent, Job } from '../vm/job';
import { type Kernel } from '../vm/kernels';
import { requireQemu } from '../vm/qemu';
import { lastRun, runStep } from '../runner/executor';
import { describeFailure, type VmOptions, type VmRun } from '../vm/session';
import type { CliOptions } from './args';
import { buildModules, defaultOutDir, log } from './common';
import { bootableKernels, vmOptionsFor } from './vm-options';
import { got } from '../util/at';

/** Operations when neither --ops nor --seconds is given. */
export const DEFAULT_FUZZ_OPS = 3000;
/** Operations between two checks of the kernel log and taint. */
export const CHECK_EVERY = 200;
/** Fresh-VM replays per kernel to confirm and minimise a complaint. */
export const MAX_REPLAYS = 30;
/** The longest suffix of a long log replayed before the whole log. */
const SUFFIX_OPS = 2000;
/** A generous bound on the time per operation under TCG, for the VM's overall deadline. */
const MS_PER_OP_BOUND = 100;
/** Time for the boot, the worker's start and the teardown, on top of the operations. */
const VM_SLACK_MS = 600_000;

export interface FuzzRunOptions {
  seed: number;
  ops: number | null;
  seconds: number | null;
  /** Default CHECK_EVERY. */
  checkEvery?: number;
  /** Default MAX_REPLAYS; 0 leaves a complaint unminimised. */
  maxReplays?: number;
  /** Progress for people (stderr). */
  say?: (message: string) => void;
  /** Runs one job in a fresh VM (default runFuzzVm; tests put a stand-in here). */
  runVm?: FuzzVmRunner;
}

/** How one fuzz job is run in a VM: runFuzzVm, or a stand-in in tests. */
export type FuzzVmRunner = typeof runFuzzVm;

export interface MinimalSequence {
  /** The shortest list that reproduced (the whole log when it did not reproduce at all). */
  ops: FuzzOp[];
  /** Each operation's outcome on the replay that reproduced it (null when none did). */
  outcomes: string[] | null;
  /** The complaint as that replay saw it (null when none reproduced). */
  complaint: FuzzComplaint | null;
  /** Fresh VMs booted for replays. */
  replays: number;
  /** Delta debugging finished: removing any one operation loses the complaint. */
  complete: boolean;
  /** A fresh VM replaying the log complained the same way. */
  reproduced: boolean;
}

export interface KernelFuzzReport {
  kernel: string;
  result: FuzzResult;
  /** The run's operation count per second (the guest's own clock). */
  opsPerSecond: number;
  minimal: MinimalSequence | null;
  /** The VM run directory of the main run. */
  runDir: string;
}

/** Does a replay's complaint look like the one being minimised? */
export function sameComplaint(want: FuzzComplaint, got: FuzzComplaint | null): boolean {
  if (got === null) return false;
  if (want.kind === 'violation') return got.kind === 'violation';
  if (want.kinds.length > 0) return got.kinds.some((k) => want.kinds.includes(k));
  if (want.taintGained.length > 0) return got.taintGained.some((t) => want.taintGained.includes(t));
  return got.kind === want.kind;
}

function vmFor(base: VmOptions, ops: number | null, seconds: number | null): VmOptions {
  const work = seconds !== null ? seconds * 1000 : (ops ?? DEFAULT_FUZZ_OPS) * MS_PER_OP_BOUND;
  // --timeout is the idle deadline here: no progress mark for that long is a hang.
  return { ...base, idleMs: base.timeoutMs, timeoutMs: work + VM_SLACK_MS + base.timeoutMs };
}

/** What a VM that ended without a fuzz result says about itself. */
function resultFromDeadVm(run: VmRun, options: FuzzJobOptions, lastDone: number): FuzzResult {
  const findings = classifyConsole(run.boot.consoleTail);
  const hang = run.boot.end === 'timeout' && !findings.some((f) => f.severity !== 'complaint');
  const first = findings[0];
  const how = hang ? 'the guest stopped answering' : `the guest died (${run.boot.end})`;
  // The operation the worker was in is not known: the batch after the last clean check.
  const atOp = Math.max(0, lastDone + options.checkEvery - 1);
  return {
    seed: options.seed,
    replay: options.replay !== null,
    opsRun: options.replay !== null ? options.replay.length : atOp + 1,
    elapsedMs: run.boot.durationMs,
    counts: {},
    complaint: {
      kind: hang ? 'hang' : 'died',
      atOp,
      sinceOp: lastDone,
      atEnd: false,
      headline: first !== undefined ? `${how}: ${first.line}` : how,
      kinds: findings.map((f) => f.kind),
      findings: findings.map((f) => `${f.kind}: ${f.line}`),
      kmsg: run.boot.consoleTail.slice(-60),
      taintGained: [],
    },
    outcomes: null,
    error: null,
  };
}

/** One fuzz job in a fresh VM: its result, from the guest or from the console of a VM that died. */
export async function runFuzzVm(
  k: Kernel,
  vm: VmOptions,
  modulePath: string,
  options: FuzzJobOptions,
  label: string,
  onProgress?: (done: number, elapsedMs: number, memory: GuestMemory) => void,
): Promise<{ result: FuzzResult; runDir: string }> {
  const job: Job = { kind: 'fuzz', kernel: k.release, module: { path: modulePath, params: {} }, fuzz: options };
  let lastDone = 0;
  const onEvent = (e: GuestEvent): void => {
    if (e.type === 'fuzz-progress') {
      lastDone = e.done;
      onProgress?.(e.done, e.elapsedMs, e.memory);
    }
  };
  const run = lastRun(await runStep({ kernel: k, vm, job, label }, { event: (_step, e) => onEvent(e) }));
  const reported = run.events.find((e): e is Extract<GuestEvent, { type: 'fuzz-result' }> => e.type === 'fuzz-result');
  if (reported !== undefined) {
    if (reported.result.error !== null) {
      throw new MmaplabError('EFUZZ', `${k.release}: ${reported.result.error}\nrun directory: ${run.runDir}`, { runDir: run.runDir });
    }
    return { result: reported.result, runDir: run.runDir };
  }
  const ready = run.events.some((e) => e.type === 'ready');
  // A guest that shut down normally without a result: the agent failed, not the kernel.
  const quiet = run.boot.end === 'exited' && classifyConsole(run.boot.consoleTail).length === 0;
  if (!ready || quiet) {
    throw new MmaplabError('EGUEST', describeFailure(k, run), { runDir: run.runDir });
  }
  return { result: resultFromDeadVm(run, options, lastDone), runDir: run.runDir };
}

/** The main run's job: the seeded operations, checked every checkEvery, drained. */
function mainJobOptions(o: FuzzRunOptions, base: VmOptions): FuzzJobOptions {
  const checkEvery = o.checkEvery ?? CHECK_EVERY;
  const stallMs = Math.min(120_000, Math.max(30_000, Math.floor(base.timeoutMs / 2)));
  return {
    seed: o.seed,
    ops: o.ops,
    seconds: o.seconds,
    checkEvery,
    drain: true,
    replay: null,
    stallMs,
  };
}

/** The main run's progress for people, at most every 10 s. */
function progressSayer(k: Kernel, say: (message: string) => void): (done: number, ms: number, mem: GuestMemory) => void {
  let said = 0;
  return (done, ms, mem) => {
    if (Date.now() - said >= 10_000) {
      said = Date.now();
      const mb = (kb: number): string => `${Math.round(kb / 1024)} MiB`;
      say(
        `${k.release}: ${done} operations, ${(ms / 1000).toFixed(0)} s; guest memory available ${mb(mem.availableKb)}, ` +
          `slab ${mb(mem.slabKb)}, vmalloc ${mb(mem.vmallocKb)}, cached ${mb(mem.pageCacheKb)}`,
      );
    }
  };
}

/** Replays of operation lists, each in a fresh VM and checked after every operation; counted, and their results kept. */
class Replayer {
  /** Fresh VMs booted so far. */
  count = 0;
  readonly #seen = new Map<string, FuzzResult>();
  readonly #k: Kernel;
  readonly #base: VmOptions;
  readonly #modulePath: string;
  readonly #options: FuzzJobOptions;
  readonly #runVm: FuzzVmRunner;

  constructor(k: Kernel, base: VmOptions, modulePath: string, options: FuzzJobOptions, runVm: FuzzVmRunner) {
    this.#k = k;
    this.#base = base;
    this.#modulePath = modulePath;
    this.#options = options;
    this.#runVm = runVm;
  }

  async run(ops: FuzzOp[]): Promise<FuzzResult> {
    this.count++;
    const r = await this.#runVm(
      this.#k,
      vmFor(this.#base, ops.length, null),
      this.#modulePath,
      { ...this.#options, ops: null, seconds: null, checkEvery: 1, drain: false, replay: ops },
      `fuzz-replay${this.count}`,
    );
    this.#seen.set(JSON.stringify(ops), r.result);
    return r.result;
  }

  /** The result of an earlier replay of exactly `ops`. */
  seen(ops: readonly FuzzOp[]): FuzzResult | undefined {
    return this.#seen.get(JSON.stringify(ops));
  }
}

/**
 * The replay that reproduced may show the complaint before its last
 * operation: the rest is not needed.
 */
function trimToComplaint(ops: FuzzOp[], final: FuzzResult | null): { ops: FuzzOp[]; final: FuzzResult | null } {
  const fc = final?.complaint ?? null;
  if (final === null || fc === null || fc.atEnd || fc.atOp + 1 >= ops.length) return { ops, final };
  return {
    ops: ops.slice(0, fc.atOp + 1),
    final: { ...final, outcomes: final.outcomes?.slice(0, fc.atOp + 1) ?? null },
  };
}

/** Confirms a complaint by replays in fresh VMs, then cuts it down to the operations it needs, within a replay budget. */
class ComplaintMinimiser {
  readonly #k: Kernel;
  readonly #want: FuzzComplaint;
  readonly #maxReplays: number;
  readonly #replayer: Replayer;
  readonly #say: (message: string) => void;

  constructor(k: Kernel, want: FuzzComplaint, maxReplays: number, replayer: Replayer, say: (message: string) => void) {
    this.#k = k;
    this.#want = want;
    this.#maxReplays = maxReplays;
    this.#replayer = replayer;
    this.#say = say;
  }

  /** The minimal sequence of the run's whole operation log. */
  async minimal(log: FuzzOp[]): Promise<MinimalSequence> {
    const { found, first } = await this.#confirm(log);
    if (found === null || first === null) {
      return {
        ops: log,
        outcomes: null,
        complaint: first?.complaint ?? null,
        replays: this.#replayer.count,
        complete: false,
        reproduced: false,
      };
    }
    return this.#minimise(found, first);
  }

  /**
   * Confirms it in a fresh VM, checked after every operation: first the
   * window it was seen in alone, then a bounded suffix, then the whole log
   * (as long as the run itself). The list that complained the same way (null:
   * none did) and the last replay's result.
   */
  async #confirm(log: FuzzOp[]): Promise<{ found: FuzzOp[] | null; first: FuzzResult | null }> {
    const candidates = [log.slice(this.#want.sinceOp), log.slice(-SUFFIX_OPS), log].filter(
      (cand, i, all) => cand.length > 0 && all.findIndex((x) => x.length === cand.length) === i,
    );
    let first: FuzzResult | null = null;
    for (const cand of candidates) {
      if (this.#replayer.count >= this.#maxReplays) break;
      this.#say(`${this.#k.release}: replaying the last ${cand.length} operation(s) in a fresh VM`);
      first = await this.#replayer.run(cand);
      if (sameComplaint(this.#want, first.complaint)) return { found: cand, first };
      this.#say(`${this.#k.release}: that replay did not complain the same way (${first.complaint?.headline ?? 'clean'})`);
    }
    return { found: null, first };
  }

  /** Delta debugging of the confirmed list, cut after the operation its replay complained after. */
  async #minimise(found: FuzzOp[], first: FuzzResult): Promise<MinimalSequence> {
    const release = this.#k.release;
    const replayer = this.#replayer;
    const c = first.complaint as FuzzComplaint;
    const cut = c.atEnd ? found : found.slice(0, c.atOp + 1);
    this.#say(
      `${release}: reproduced after operation ${c.atOp} of ${found.length}; minimising ${cut.length} (at most ${this.#maxReplays - replayer.count} more VMs)`,
    );
    const outcomeOf = new Map(cut.map((op, i) => [op, first.outcomes?.[i]]));
    const min = await minimise(cut, async (cand) => sameComplaint(this.#want, (await replayer.run(cand)).complaint), {
      maxTests: this.#maxReplays - replayer.count,
      // First guesses: without what did nothing (skipped, or only read state),
      // then only the slots the last operation depends on.
      hints: [(cur) => cur.filter((op) => outcomeOf.get(op) !== 'skip' && !READ_ONLY_OPS.includes(op.op)), (cur) => slotSlice(cur)],
      onTest: (cand, ok, n) => this.#say(`${release}: replay ${n + 1}: ${cand.length} operations: ${ok ? 'complains' : 'clean'}`),
    });
    const { ops, final } = trimToComplaint(min.items, replayer.seen(min.items) ?? (min.items.length === cut.length ? first : null));
    return {
      ops,
      outcomes: final?.outcomes ?? null,
      complaint: final?.complaint ?? c,
      replays: replayer.count,
      complete: min.complete,
      reproduced: true,
    };
  }
}

/** Fuzz one kernel and, on a complaint, minimise it with replays in fresh VMs. */
export async function fuzzKernel(k: Kernel, base: VmOptions, modulePath: string, o: FuzzRunOptions): Promise<KernelFuzzReport> {
  const say = o.say ?? ((): void => undefined);
  const options = mainJobOptions(o, base);
  const runVm = o.runVm ?? runFuzzVm;
  const { result, runDir } = await runVm(k, vmFor(base, o.ops, o.seconds), modulePath, options, 'fuzz', progressSayer(k, say));
  const opsPerSecond = result.elapsedMs > 0 ? (result.opsRun * 1000) / result.elapsedMs : 0;
  const report: KernelFuzzReport = { kernel: k.release, result, opsPerSecond, minimal: null, runDir };
  const want = result.complaint;
  if (want === null) return report;

  say(`${k.release}: complaint after operation ${want.atOp}: ${want.headline}`);
  const log = generateOps(o.seed, result.opsRun);
  const maxReplays = o.maxReplays ?? MAX_REPLAYS;
  report.minimal = { ops: log, outcomes: null, complaint: null, replays: 0, complete: false, reproduced: false };
  if (maxReplays === 0) return report;
  const replayer = new Replayer(k, base, modulePath, options, runVm);
  report.minimal = await new ComplaintMinimiser(k, want, maxReplays, replayer, say).minimal(log);
  return report;
}

function countsLine(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => (a[0] === 'ok' ? -1 : b[0] === 'ok' ? 1 : b[1] - a[1]));
  return entries.map(([k, n]) => `${k} ${n}`).join(', ') || '(none)';
}

/** The report of one kernel, for people. */
export function renderKernelReport(r: KernelFuzzReport): string {
  const res = r.result;
  const lines: string[] = [];
  const c = res.complaint;
  lines.push(
    `${r.kernel}: ${res.opsRun} operations in ${(res.elapsedMs / 1000).toFixed(1)} s (${r.opsPerSecond.toFixed(1)}/s): ` +
      (c === null ? 'clean' : `COMPLAINT (${c.kind})`),
  );
  lines.push(`  outcomes: ${countsLine(res.counts)}`);
  if (c === null) return lines.join('\n');
  lines.push(`  ${c.headline}`);
  lines.push(
    `  seed ${res.seed}; seen ${c.atEnd ? 'at the end of the run' : `after operation ${c.atOp}`} ` +
      `(window from operation ${c.sinceOp})${c.taintGained.length ? `; taint gained ${c.taintGained.join('')}` : ''}`,
  );
  for (const f of c.findings.slice(0, 10)) lines.push(`  finding: ${f}`);
  if (c.kmsg.length > 0) {
    lines.push('  kernel log:');
    for (const l of c.kmsg.slice(0, 40)) lines.push(`    ${l}`);
  }
  const m = r.minimal;
  if (m !== null) {
    if (!m.reproduced) {
      lines.push(`  not reproduced by a replay in a fresh VM (${m.replays} replay(s)); the full log has ${m.ops.length} operations`);
    } else {
      lines.push(
        `  minimal sequence: ${m.ops.length} operation(s), reproduced in fresh VMs ` +
          `(${m.replays} replays${m.complete ? ', 1-minimal' : ', replay budget reached: may shrink further'}):`,
      );
      m.ops.forEach((op, i) => {
        const out = m.outcomes?.[i];
        lines.push(`    ${String(i).padStart(3)}  ${describeOp(op)}${out !== undefined ? `  -> ${out}` : ''}`);
      });
      if (m.complaint !== null) lines.push(`  replayed complaint: ${m.complaint.headline}`);
    }
  }
  return lines.join('\n');
}

function fileName(release: string): string {
  return release.replace(/[^A-Za-z0-9._+-]/g, '_');
}

export async function runFuzz(opts: CliOptions): Promise<number> {
  requireQemu();
  const seed = opts.seed ?? clockSeed();
  process.stdout.write(`seed ${seed}\n`);
  const ops = opts.fuzzOps === null && opts.fuzzSeconds === null ? DEFAULT_FUZZ_OPS : opts.fuzzOps;
  const kernels = bootableKernels(opts.kernels);
  const modules = buildModules(kernels, log);
  let failed = false;
  const outDir = defaultOutDir('fuzz');
  for (const k of kernels) {
    const report = await fuzzKernel(k, await vmOptionsFor(opts, k), got(modules, k.release, 'the module built for the kernel'), {
      seed,
      ops,
      seconds: opts.fuzzSeconds,
      say: log,
    });
    process.stdout.write(`${renderKernelReport(report)}\n`);
    if (report.result.complaint !== null) {
      failed = true;
      fs.mkdirSync(outDir, { recursive: true });
      const base = path.join(outDir, fileName(k.release));
      fs.writeFileSync(`${base}-ops.json`, formatOpList(generateOps(seed, report.result.opsRun)));
      if (report.minimal !== null) fs.writeFileSync(`${base}-minimal.json`, formatOpList(report.minimal.ops));
      fs.writeFileSync(`${base}-report.json`, JSON.stringify(report, null, 2));
      process.stdout.write(`  operation log, minimal sequence and report: ${base}-{ops,minimal,report}.json\n`);
    }
  }
  return failed ? 1 : 0;
}
