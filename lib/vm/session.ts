/**
 * Running a job in a fresh VM for one kernel: booted cold, or restored from
 * a saved template for cell and check jobs, retried when a VM never reaches its agent.
 * What a job means (cells spread over VMs, suites, files) is the runner's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, runsDir } from '../paths';
import { MmaplabError, isErrnoError } from '../util/errors';
import { classifyConsole } from './console';
import { GUEST_RUN_DIR, MARK_ROOT_READY } from './guest-init';
import { ensureInitramfs } from './initramfs';
import {
  EVENTS_FILE,
  GUEST_SCRIPT,
  HEARTBEAT_FILE,
  JOB_FILE,
  MARK_AGENT_DONE,
  MARK_AGENT_READY,
  MARK_CELL_DONE,
  MARK_FUZZ_BATCH,
  type GuestEvent,
  type Job,
} from './job';
import { parseEventLine } from './events';
import type { Kernel } from './kernels';
import { boot, lastStderrLine, type Accel, type BootOutcome, type BootSpec } from './qemu';
import { ensureBootImage, pvhEntryFailed, refusePvh, type BootImage } from './vmlinux';
import { savedVms, type SavedVms } from './saved-vms';
import { restoredSpec, type Template, type TemplateShape } from './template';

export interface VmOptions {
  accel: Accel;
  cpus: number;
  memoryMb: number;
  timeoutMs: number;
  bootPath: 'vmlinux' | 'bzimage';
  cmdline: string[];
  /** Echo the guest console to this stream as it arrives. */
  echo?: NodeJS.WritableStream;
  /** Called for every console line, with ms since QEMU was started (benchmarks time marks with it). */
  onLine?: (line: string, ms: number) => void;
  /**
   * Fuzz jobs: a guest that prints no progress mark for this long is a hang
   * (boot included), whatever is left of timeoutMs.
   */
  idleMs?: number;
  /**
   * Cell jobs start from a saved VM (lib/vm/template) instead of a cold
   * boot; where that fails, they boot cold and the run says why.
   */
  restore?: boolean;
  /** Where restored VMs come from (default: the process's one set of templates). */
  savedVms?: SavedVms;
}

export const DEFAULT_VM: VmOptions = {
  accel: 'tcg',
  cpus: 2,
  memoryMb: 1024,
  timeoutMs: 300_000,
  bootPath: 'vmlinux',
  cmdline: [],
  restore: true,
};

/** How a VM got its kernel: booted, or restored from a saved VM (and what that took). */
export type VmStart =
  { kind: 'cold'; fallback?: string } | { kind: 'restored'; template: string; loadedMs: number | null; resumedMs: number | null };

export interface VmRun {
  runDir: string;
  boot: BootOutcome;
  events: GuestEvent[];
  /** The status the agent reported, or null if it never finished. */
  agentStatus: number | null;
  start: VmStart;
  /** The image a cold boot gave QEMU (a restored VM has none of its own). */
  image?: BootImage;
}

/**
 * Longest a cell job may go without finishing a cell (boot included): ten
 * times the slowest safe cell under TCG, so only a wedged guest meets it.
 */
export const CELL_IDLE_MS = 30_000;

/**
 * A cold-booted VM's first idle window (QEMU's start to the agent's): the
 * room a template's boot gets. A debug kernel from its bzImage under TCG
 * reached its root after 22 s on an idle host and 56 s on a loaded one,
 * then starts node; CELL_IDLE_MS alone failed every cold cell VM there.
 */
export const COLD_BOOT_IDLE_MS = 120_000;

/**
 * Longest a check job may go without finishing a scenario (boot and insmod
 * included): the user's driver may be slow, and this machine's host can
 * hold a guest's CPUs for a minute, so a scenario gets the guest kernels'
 * own lockup threshold.
 */
export const CHECK_IDLE_MS = 120_000;

/**
 * After an oops or panic on the console, a guest that is still alive
 * finishes its cell within a few seconds; past this it is wedged (the oopsed
 * task died holding a lock) and the console is all the evidence there is.
 */
export const OOPS_IDLE_MS = 10_000;

/**
 * After an oops: an agent whose heartbeat has not changed for this long is
 * blocked in the damaged kernel and will not report its cell; the VM ends
 * then, with the console as the evidence, instead of at OOPS_IDLE_MS. Twelve
 * beats: a busy host delays a beat by far less.
 */
export const HEARTBEAT_QUIET_MS = 3_000;

/** Does this console line start an oops or a panic? */
export function consoleShowsOops(line: string): boolean {
  return classifyConsole([line]).some((f) => f.severity !== 'complaint');
}

/** Errnos that mean a run directory cannot be written, and what they mean. */
export const RUNDIR_ERRNOS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/**
 * A failure to write in run directory `dir` (full disk, quota, read-only,
 * permissions) as MmaplabError ERUNDIR, naming the directory, the errno and
 * what to do; any other error is returned unchanged.
 */
export function runDirError(err: unknown, dir: string): unknown {
  if (!isErrnoError(err) || err.code === undefined || !(err.code in RUNDIR_ERRNOS)) return err;
  const parent = path.dirname(dir);
  return new MmaplabError(
    'ERUNDIR',
    `cannot write the run directory ${dir}: ${err.code} (${RUNDIR_ERRNOS[err.code]}); ` +
      `free space in ${parent} or point MMAPLAB_RUNS elsewhere`,
    { runDir: dir, errno: err.code, ...(err.path !== undefined ? { path: err.path } : {}) },
  );
}

function inRunDir<T>(dir: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw runDirError(err, dir);
  }
}

let runCounter = 0;

export function newRunDir(kernel: Kernel, label: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(runsDir(), `${stamp}-${process.pid}-${++runCounter}-${kernel.release}-${label}`);
  inRunDir(dir, () => fs.mkdirSync(dir, { recursive: true }));
  return dir;
}

function guestScript(): string {
  const agent = path.join(REPO_ROOT, 'dist', 'lib', 'runner', 'agent.js');
  return [
    '#!/bin/sh',
    `cd ${JSON.stringify(REPO_ROOT)} || exit 1`,
    `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(agent)} ${GUEST_RUN_DIR}`,
    '',
  ].join('\n');
}

/**
 * Reads events.jsonl while the guest appends to it (the run directory is a
 * cache=none 9p share, so every append is on the host at once) and hands each
 * complete line's event on. The final read takes what is left, so `events`
 * ends up exactly what parseEvents would read from the file. A line that is
 * JSON but not an event (lib/vm/events) stops the reading: `problem` says
 * which line and where in it, and runJob throws it after the VM ends.
 */
export class EventTail {
  readonly events: GuestEvent[] = [];
  problem: MmaplabError | null = null;
  private offset = 0;
  private partial = '';
  private lines = 0;

  constructor(
    private readonly file: string,
    private readonly onEvent?: (e: GuestEvent) => void,
  ) {}

  poll(final = false): void {
    if (this.problem !== null) return;
    let chunk = '';
    try {
      const fd = fs.openSync(this.file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size > this.offset) {
          const buf = Buffer.alloc(size - this.offset);
          const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
          this.offset += n;
          chunk = buf.toString('utf8', 0, n);
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return; // not there (yet): nothing to hand on
    }
    const text = this.partial + chunk;
    const cut = final ? text.length : text.lastIndexOf('\n') + 1;
    this.partial = text.slice(cut);
    for (const line of completeLines(text.slice(0, cut))) {
      const e = this.parse(line, ++this.lines);
      if (e === null) continue;
      this.events.push(e);
      this.onEvent?.(e);
    }
  }

  /** Line `n`'s event; null when it is blank or not JSON, or not an event (then `problem` says why). */
  private parse(line: string, n: number): GuestEvent | null {
    if (this.problem !== null || line.trim() === '') return null;
    try {
      return parseEventLine(line, `${this.file} line ${n}`);
    } catch (err) {
      if (!(err instanceof MmaplabError)) throw err;
      this.problem = err;
      return null;
    }
  }
}

/** The lines of `text`, which ends at a line's end or at the end of the file. */
function completeLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** How often a running job's events are read for progress. */
export const EVENT_POLL_MS = 250;

/** The job, the guest's start script and an empty events file, into the run directory. */
function writeJobFiles(runDir: string, job: Job): void {
  inRunDir(runDir, () => {
    fs.writeFileSync(path.join(runDir, JOB_FILE), JSON.stringify(job, null, 2));
    fs.writeFileSync(path.join(runDir, GUEST_SCRIPT), guestScript(), { mode: 0o755 });
    fs.writeFileSync(path.join(runDir, EVENTS_FILE), '');
  });
}

/** What a job's boot watches, however the VM starts: its marks, the idle deadline of its kind, the console's echo. */
type JobWatch = Omit<BootSpec, 'image' | 'initramfs' | 'accel' | 'cpus' | 'memoryMb' | 'cmdline' | 'snapshot' | 'afterSpawn'>;

function jobWatch(job: Job, vm: VmOptions, runDir: string): JobWatch {
  return {
    runDir,
    timeoutMs: vm.timeoutMs,
    marks: [MARK_ROOT_READY, MARK_AGENT_READY, MARK_CELL_DONE, MARK_AGENT_DONE],
    // A cell or check job must show progress: the agent's start, then each cell or scenario.
    ...(job.kind === 'cells' || job.kind === 'check'
      ? {
          idle: {
            ms: job.kind === 'cells' ? CELL_IDLE_MS : CHECK_IDLE_MS,
            resetOn: [MARK_AGENT_READY, MARK_CELL_DONE],
            trouble: {
              test: consoleShowsOops,
              ms: OOPS_IDLE_MS,
              heartbeat: { file: path.join(runDir, HEARTBEAT_FILE), quietMs: HEARTBEAT_QUIET_MS },
            },
          },
        }
      : {}),
    ...(job.kind === 'fuzz' && vm.idleMs !== undefined
      ? {
          idle: {
            ms: vm.idleMs,
            resetOn: [MARK_AGENT_READY, MARK_FUZZ_BATCH],
            trouble: { test: consoleShowsOops, ms: OOPS_IDLE_MS },
          },
        }
      : {}),
    ...(vm.echo || vm.onLine
      ? {
          onLine: (l: string, ms: number) => {
            vm.echo?.write(`${l}\n`);
            vm.onLine?.(l, ms);
          },
        }
      : {}),
  };
}

/** How the VM started and ended, and the image a cold boot used. */
interface Booted {
  outcome: BootOutcome;
  start: VmStart;
  image: BootImage | undefined;
}

/** A cold boot of the kernel's image, with the initramfs and the VM's options. */
async function bootCold(kernel: Kernel, vm: VmOptions, watch: JobWatch): Promise<Booted> {
  const image = ensureBootImage(kernel, vm.bootPath);
  const outcome = await boot({
    ...watch,
    ...(watch.idle !== undefined ? { idle: { ...watch.idle, bootMs: Math.max(COLD_BOOT_IDLE_MS, watch.idle.ms) } } : {}),
    image,
    initramfs: ensureInitramfs(kernel),
    accel: vm.accel,
    cpus: vm.cpus,
    memoryMb: vm.memoryMb,
    cmdline: [...(kernel.cmdline ?? []), ...vm.cmdline],
  });
  return { outcome, start: { kind: 'cold' }, image };
}

/** A copy of the template restored; `held` gets what to release after, as soon as there is something. */
async function bootRestored(template: Template, watch: JobWatch, held: (release: () => void) => void): Promise<Booted> {
  const restored = await restoredSpec(template, watch);
  held(restored.release);
  const outcome = await boot(restored.spec);
  return { outcome, start: { kind: 'restored', template: template.key, ...restored.timings }, image: undefined };
}

export async function runJob(
  kernel: Kernel,
  job: Job,
  vm: VmOptions,
  label: string,
  onEvent?: (e: GuestEvent) => void,
  template?: Template,
): Promise<VmRun> {
  const runDir = newRunDir(kernel, label);
  if (template !== undefined) job = withModuleInRunDir(job, runDir);
  writeJobFiles(runDir, job);
  const tail = new EventTail(path.join(runDir, EVENTS_FILE), onEvent);
  const timer = onEvent ? setInterval(() => tail.poll(), EVENT_POLL_MS) : null;
  let booted: Booted;
  let release = (): void => undefined;
  try {
    const watch = jobWatch(job, vm, runDir);
    booted = template === undefined ? await bootCold(kernel, vm, watch) : await bootRestored(template, watch, (r) => (release = r));
  } catch (err) {
    // The console log (console.log in the run directory) could not be written.
    throw runDirError(err, runDir);
  } finally {
    if (timer !== null) clearInterval(timer);
    release();
  }
  tail.poll(true);
  const events = tail.events;
  const done = events.find((e): e is Extract<GuestEvent, { type: 'done' }> => e.type === 'done');
  const { outcome, start, image } = booted;
  const run: VmRun = { runDir, boot: outcome, events, agentStatus: done ? done.status : null, start, image };
  writeOutcome(run);
  if (tail.problem !== null) throw new MmaplabError('EGUEST', tail.problem.message, { ...tail.problem.details, runDir });
  return run;
}

function writeOutcome(run: VmRun): void {
  inRunDir(run.runDir, () =>
    fs.writeFileSync(
      path.join(run.runDir, 'outcome.json'),
      JSON.stringify({ ...run.boot, agentStatus: run.agentStatus, start: run.start }, null, 2),
    ),
  );
}

/** The module file name a restored guest loads mmaplab's module from, in its run directory. */
export const RUN_DIR_MODULE = 'mmaplab.ko';

/**
 * A restored guest sees no host path (its root is the runtime image): the
 * module travels in the run directory and the job names it there. The
 * user's module of a check keeps its file name, which insmod's errors show.
 */
function withModuleInRunDir(job: Job, runDir: string): Job {
  if (!('module' in job)) return job;
  const name = job.kind === 'check' ? path.basename(job.module.path) : RUN_DIR_MODULE;
  inRunDir(runDir, () => fs.copyFileSync(job.module.path, path.join(runDir, name)));
  return { ...job, module: { ...job.module, path: path.posix.join(GUEST_RUN_DIR, name) } };
}

/** Jobs that may run in a restored copy: their guest needs nothing a template lacks. */
export function restorable(job: Job): boolean {
  return job.kind === 'cells' || job.kind === 'check';
}

/** Where the line about a kernel that cannot boot at its PVH entry goes (tests replace it). */
export const bootLog = {
  write: (line: string): void => {
    process.stderr.write(`mmaplab: ${line}\n`);
  },
};

/** Boots per job before a VM that never reaches its agent counts as a failure. */
export const BOOT_ATTEMPTS = 3;

/**
 * runJob, retried while the guest dies before its agent is ready. Such a
 * boot has not run anything of ours: under multi-threaded TCG the kernel's
 * own code patching (an int3 breakpoint another vCPU can hit mid-patch) was
 * seen to oops an initcall in about one boot in a hundred. Every attempt
 * stays in the returned list.
 */
export async function runJobReady(
  kernel: Kernel,
  job: Job,
  vm: VmOptions,
  label: string,
  onEvent?: (e: GuestEvent) => void,
): Promise<VmRun[]> {
  const runs: VmRun[] = [];
  let fallback: string | undefined;
  const saved = vm.savedVms ?? savedVms;
  if (vm.restore === true && restorable(job)) {
    // A restored copy that does not reach its agent is the template's fault
    // (refused, corrupt): it is saved again once, then the kernel boots cold.
    for (let attempt = 1; attempt <= RESTORE_ATTEMPTS; attempt++) {
      const got = await saved.templateFor(kernel, templateShapeOf(vm), () => newRunDir(kernel, 'template'));
      if ('fallback' in got) {
        fallback = got.fallback;
        break;
      }
      const run = await runJob(kernel, job, vm, attempt === 1 ? label : `${label}-restore${attempt}`, onEvent, got.template);
      runs.push(run);
      if (run.events.some((e) => e.type === 'ready')) return runs;
      fallback = saved.refuse(kernel, got.template, restoreFailure(run));
    }
  }
  let pvhRefused = false;
  for (let attempt = 1; attempt <= BOOT_ATTEMPTS; attempt++) {
    const run = await runJob(kernel, job, vm, attempt === 1 ? label : `${label}-retry${attempt - 1}`, onEvent);
    if (fallback !== undefined) {
      run.start = { kind: 'cold', fallback };
      writeOutcome(run);
    }
    runs.push(run);
    if (run.events.some((e) => e.type === 'ready')) break;
    if (!pvhRefused && pvhEntryFailed(run.image, run.boot)) {
      pvhRefused = true;
      // Not a flaky boot: this kernel cannot start at its PVH entry. It boots
      // its bzImage from now on, and this attempt does not count.
      const why = refusePvh(kernel, run.runDir);
      bootLog.write(`${kernel.release}: ${why}; booting its bzImage from now on`);
      attempt--;
    }
  }
  return runs;
}

/** Restored copies tried per job before it boots cold: the cached template, then one saved anew. */
export const RESTORE_ATTEMPTS = 2;

/** The shape of the template a job in `vm` restores from. */
export function templateShapeOf(vm: VmOptions): TemplateShape {
  return { accel: vm.accel, cpus: vm.cpus, memoryMb: vm.memoryMb, bootPath: vm.bootPath, cmdline: vm.cmdline };
}

/** Why a restored copy never reached its agent, in one line. */
function restoreFailure(run: VmRun): string {
  const why =
    run.boot.end === 'restore-failed' || run.boot.end === 'qemu-error'
      ? (lastStderrLine(run.boot) ?? run.boot.end)
      : run.boot.end === 'timeout'
        ? 'the restored guest did not answer'
        : `the restored guest ended (${run.boot.end}) before its agent was ready`;
  return `${why} (run directory ${run.runDir})`;
}

/** Why a VM run produced nothing usable, for people: the console tail included. */
export function describeFailure(kernel: Kernel, run: VmRun): string {
  const tail = run.boot.consoleTail.slice(-25).join('\n');
  const err = run.events.find((e): e is Extract<GuestEvent, { type: 'error' }> => e.type === 'error');
  const what =
    run.boot.end === 'timeout'
      ? `hang: the guest did not finish within ${Math.round(run.boot.durationMs / 1000)} s`
      : run.boot.end === 'qemu-error'
        ? `QEMU failed (status ${run.boot.qemuStatus}): ${run.boot.stderr}`
        : run.boot.end === 'panic'
          ? 'the kernel panicked'
          : err
            ? `the guest agent failed: ${err.message}`
            : 'the guest stopped without a result';
  return `${kernel.release}: ${what}\nrun directory: ${run.runDir}\nconsole tail:\n${tail}`;
}
