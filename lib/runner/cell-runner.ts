/**
 * Runs cells in this kernel (inside a guest, or on a lab machine with the
 * module loaded): kmsg window and taint around a probe child that does the
 * userspace steps, then a verdict from what was seen.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readProgressFile, resetProgressFile } from '../device/progress';
import { classifyWindow, currentSeq, readSince, readTaint, taintGained } from '../kmsg';
import {
  emptyObservation,
  type CellEvidence,
  type CellResult,
  type CellSpec,
  PROBE_STEPS,
  type ProbeObservation,
} from '../experiments/types';
import { judge } from '../experiments/verdict';
import type { ProbeReady, ProbeReply, ProbeRequest } from './protocol';
import { drainCpu, drainPerCpuPages, onlineCpus, pinTo } from './settle';
import { describeStuck, snapshotStuck } from './stuck';
import { running, sendIfAlive } from '../util/child';

/** Default probe deadline per cell (ms). */
export const PROBE_TIMEOUT_MS = 20_000;

/** How long start() waits for a new probe to say it is warm (about 1 s under TCG). */
export const PROBE_WARM_WAIT_MS = 10_000;
/** How long a killed probe may take to exit before the cell is judged anyway. */
const PROBE_EXIT_WAIT_MS = 10_000;
/** How often the cell's kernel log is read while the probe runs. */
export const OOPS_POLL_MS = 250;
/**
 * After an oops or panic in the cell's window, how long the probe has to
 * answer or exit. The oopsed task is usually the probe; one that has not
 * exited by then is stuck in the damaged kernel (in its exit, or on a lock
 * the oops left held), and the cell is judged on that evidence rather than
 * at the probe deadline.
 */
export const OOPS_GRACE_MS = 1_500;

/** Does the cell's window since `seq0` hold an oops or a panic? */
export function windowShowsOops(seq0: number): boolean {
  return classifyWindow(readSince(seq0).records).some((f) => f.severity !== 'complaint');
}

export interface CellRunnerOptions {
  kernel: string;
  devicePath?: string;
  /**
   * Longest a probe may take before it is killed and the cell called a hang
   * (unless the kernel said more). Below the host's idle deadline for a cell
   * VM (30 s), so a stuck probe is judged here, with its kmsg window.
   */
  probeTimeoutMs?: number;
}

export class CellRunner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly devicePath: string;
  private readonly timeoutMs: number;
  /** Where the probe leaves its step and page (two int32), read after it died. */
  private readonly progressPath: string;
  /** Where the last probe that missed its deadline was when it was killed. */
  private stuck: CellEvidence['stuck'] | null = null;
  /** Settles when the current probe is warm, has exited, or was waited for long enough. */
  private warm: Promise<void> = Promise.resolve();
  /** The probe that takes over when the current one dies, started ahead. */
  private spare: WarmingProbe | null = null;
  /** When the current cell's probe was pinned (performance.now()). */
  private pinnedAt: number | null = null;

  constructor(private readonly opts: CellRunnerOptions) {
    this.devicePath = opts.devicePath ?? '/dev/mmaplab';
    this.timeoutMs = opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
    this.progressPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-probe-')), 'progress');
    resetProgressFile(this.progressPath);
  }

  /** The step and page the probe last recorded (null each when none). */
  private lastPosition(): Pick<ProbeObservation, 'signalStep' | 'signalPage'> {
    try {
      const { step, page } = readProgressFile(this.progressPath);
      return { signalStep: PROBE_STEPS[step] ?? null, signalPage: page >= 0 ? page : null };
    } catch {
      return { signalStep: null, signalPage: null };
    }
  }

  /**
   * Start the probe process now rather than at the first cell, and a spare
   * beside it. Resolves when both say they are warm (code and addon loaded),
   * have exited, or after `PROBE_WARM_WAIT_MS`: a probe that is slow to warm
   * is still used, only later.
   */
  start(): Promise<void> {
    this.probe();
    this.ensureSpare();
    return Promise.all([this.warm, this.spare?.warm]).then(() => undefined);
  }

  /**
   * The probe for the next cell. One that died (a signal, a retired hazard
   * probe) is replaced by the spare, which is warm by then: a fresh Node
   * process costs 2 to 4 s under TCG, which the cell after every signal
   * used to wait for. Only without a spare does a cell start a probe itself.
   */
  private probe(): ChildProcess {
    if (this.child === null || !running(this.child)) {
      const next = this.spare !== null && running(this.spare.child) ? this.spare : spawnProbe();
      this.spare = null;
      this.child = next.child;
      this.warm = next.warm;
    }
    return this.child;
  }

  /**
   * Starts a spare if there is none, after a cell's window was read: its
   * start-up then overlaps the next cells, not the window it would add to.
   * It runs on the CPUs other than the one whose per-CPU page lists a cell
   * drains, so its allocations cannot take back pages a probe freed before
   * the drain checks them (where there is no other CPU, it stays unpinned).
   */
  private ensureSpare(): void {
    if (this.spare !== null && running(this.spare.child)) return;
    this.spare = spawnProbe();
    const drain = drainCpu();
    const pid = this.spare.child.pid;
    if (drain === null || pid === undefined) return;
    const others = onlineCpus().filter((c) => c !== drain);
    if (others.length > 0) pinTo(pid, others);
  }

  /**
   * Run the userspace steps in the probe; a signal is an observation too.
   * A probe that does not answer in time is killed and yields null (a hang),
   * once it has exited: its mm is torn down inside the cell's window, where
   * what the teardown makes the kernel say belongs.
   */
  private observe(cell: CellSpec, seq0: number): Promise<ProbeObservation | null> {
    const child = this.probe();
    const id = this.nextId++;
    const blank = emptyObservation();
    const cpu = drainCpu();
    if (cpu !== null && child.pid !== undefined) pinTo(child.pid, cpu);
    this.pinnedAt = performance.now();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let watch: NodeJS.Timeout | null = null;
      let grace: NodeJS.Timeout | null = null;
      const stopClocks = (): void => {
        for (const t of [timer, grace]) if (t !== null) clearTimeout(t);
        if (watch !== null) clearInterval(watch);
      };
      const done = (obs: ProbeObservation | null): void => {
        stopClocks();
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(obs);
      };
      const onMessage = (m: ProbeReply | ProbeReady): void => {
        if ('id' in m && m.id === id) done(m.observation);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.child = null;
        done(signal !== null ? { ...blank, signal, ...this.lastPosition() } : { ...blank, error: `probe exited with status ${code}` });
      };
      /** Kills the probe and yields null once it is gone, or after `exitWaitMs` if it does not go. */
      const giveUp = (exitWaitMs: number): void => {
        stopClocks();
        child.off('exit', onExit);
        child.off('message', onMessage);
        this.child = null;
        // Before the kill: where it is tells a kernel wait from slow emulation.
        const tasks = child.pid === undefined ? [] : snapshotStuck(child.pid);
        const { signalStep, signalPage } = this.lastPosition();
        this.stuck = { tasks, where: describeStuck(tasks), step: signalStep, page: signalPage };
        // Its exit is awaited: the teardown's complaints belong to this cell.
        // An oops in that teardown (it happens: a killed probe's mm holding
        // another process's pages) leaves it stuck, so it gets a grace then.
        let oopsWait: NodeJS.Timeout | null = null;
        const finish = (): void => {
          clearTimeout(gone);
          clearInterval(exitWatch);
          if (oopsWait !== null) clearTimeout(oopsWait);
          resolve(null);
        };
        const gone = setTimeout(finish, exitWaitMs);
        const exitWatch = setInterval(() => {
          if (oopsWait === null && windowShowsOops(seq0)) oopsWait = setTimeout(finish, OOPS_GRACE_MS);
        }, OOPS_POLL_MS);
        child.once('exit', finish);
        child.kill('SIGKILL');
      };
      timer = setTimeout(() => giveUp(PROBE_EXIT_WAIT_MS), this.timeoutMs);
      // An oops in the window: the probe gets OOPS_GRACE_MS to answer or
      // exit, then is given up on; a probe stuck in the damaged kernel will
      // not exit when killed either, so that wait is short too.
      watch = setInterval(() => {
        if (grace === null && windowShowsOops(seq0)) {
          if (watch !== null) clearInterval(watch);
          grace = setTimeout(() => giveUp(OOPS_GRACE_MS), OOPS_GRACE_MS);
        }
      }, OOPS_POLL_MS);
      child.on('message', onMessage);
      child.on('exit', onExit);
      resetProgressFile(this.progressPath);
      const req: ProbeRequest = { id, cell, devicePath: this.devicePath, progressPath: this.progressPath };
      sendIfAlive(child, req);
    });
  }

  async run(cell: CellSpec): Promise<CellResult> {
    const started = Date.now();
    const t0 = performance.now();
    const seq0 = currentSeq();
    const taint0 = readTaint();
    this.stuck = null;
    const observation = await this.observe(cell, seq0);
    const t1 = performance.now();
    // Some damage is only reported when the process's mm is torn down
    // ("Bad rss-counter state", "non-zero pgtables_bytes"): after a hazard
    // the probe exits inside the cell's window, and the next cell gets a
    // fresh one. A hazard refused at CONFIGURE (hazards not allowed) mapped
    // nothing, so its probe has nothing to report at teardown and stays:
    // a new probe costs 2 to 4 s under TCG, 34 times in the guest suite.
    if (cell.hazard && observation?.refused?.step !== 'configure') await this.retireProbe();
    const t2 = performance.now();
    // What close freed may still sit on per-CPU lists, where 6.1 does not
    // check it; flush them so every complaint lands in this window.
    drainPerCpuPages();
    const t3 = performance.now();
    // Taint first, then the log: the kernel prints a report before it adds
    // the taint bit (bad_page(), __warn(), oops_end()), so a bit seen here
    // has its report in the window read next. Read the other way round, a
    // report that landed in between (6.1, a Bad page state found while the
    // drained CPU came back) left taint B with no message to show for it.
    const taint = readTaint();
    const window = readSince(seq0);
    const evidence: CellEvidence = {
      kmsg: window.records.map((r) => r.message),
      findings: classifyWindow(window.records),
      taintGained: taintGained(taint0, taint),
      observation,
    };
    if (window.lost > 0) evidence.kmsgLost = window.lost;
    if (this.stuck !== null) evidence.stuck = this.stuck;
    this.ensureSpare();
    const j = judge(evidence);
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    const pinned = this.pinnedAt ?? t0;
    return {
      kernel: this.opts.kernel,
      cell,
      verdict: j.verdict,
      detail: j.detail,
      headline: j.headline,
      evidence,
      durationMs: Date.now() - started,
      phasesMs: {
        pin: ms(t0, pinned),
        probe: ms(pinned, t1),
        retire: ms(t1, t2),
        drain: ms(t2, t3),
        judge: ms(t3, performance.now()),
      },
    };
  }

  /** Let the probe exit and wait until it has (its mm is gone). */
  private retireProbe(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || !running(child)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.disconnect();
    });
  }

  close(): void {
    for (const child of [this.child, this.spare?.child]) if (child && child.connected) child.disconnect();
    this.child = null;
    this.spare = null;
    fs.rmSync(path.dirname(this.progressPath), { recursive: true, force: true });
  }
}

interface WarmingProbe {
  child: ChildProcess;
  /** Settles when it says it is warm, exits, or after PROBE_WARM_WAIT_MS. */
  warm: Promise<void>;
}

/** A new probe process, and when it is warm. */
function spawnProbe(): WarmingProbe {
  const child = fork(path.join(__dirname, 'probe.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const warm = new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', finish);
      resolve();
    };
    const onMessage = (m: ProbeReply | ProbeReady): void => {
      if ('ready' in m) finish();
    };
    const timer = setTimeout(finish, PROBE_WARM_WAIT_MS);
    timer.unref();
    child.on('message', onMessage);
    child.once('exit', finish);
  });
  return { child, warm };
}

/** Why the kernel can no longer be trusted for further cells, or null. */
export function damagedKernel(r: CellResult): string | null {
  // A hazard can corrupt the allocator silently and be reported later, by
  // whichever task next touches the page: seen landing in the next cell's
  // window. So every hazard cell runs alone in a fresh kernel.
  if (r.cell.hazard) return 'hazard cell: the next cell gets a fresh kernel';
  if (r.verdict === 'oops' || r.verdict === 'panic') return `${r.verdict}: ${r.headline}`;
  if (r.evidence.taintGained.includes('D')) return 'kernel gained taint D';
  // Bad page state: the page allocator met pages it did not expect; what the
  // kernel does next is no longer a clean baseline for another cell.
  if (r.evidence.taintGained.includes('B')) return 'kernel gained taint B (bad page)';
  return null;
}
