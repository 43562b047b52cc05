/**
 * Concurrency stress of /dev/mmaplab (in the guest, module loaded with
 * hazards off): `processes` child processes (lib/harden/stress-worker.ts)
 * of 2 to 4 worker threads each loop over map / touch / pattern checks /
 * unmap / CONFIGURE / fork / dup+close for `durationMs`, all starting
 * together once every process has all its threads up, either on one
 * session the parent opened and passes down as fd 3 ('shared') or on
 * sessions of their own ('separate'). Only pairs the catalogue expects to
 * work (no hazard, no file-backed method, write-back cache).
 *
 * A failure is: an errno other than the expected ones (CONFIGURE: EBUSY or
 * success, and never success while the caller holds a mapping), data that
 * must be intact and is not, a worker that crashes or overruns, a kernel
 * complaint in the kmsg window of the run, or a new taint bit. A process
 * that is not up after STARTUP_LIMIT_MS or not done RUN_GRACE_MS after its
 * window is killed, and the failure says where its threads were (/proc).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Device } from '../device';
import { FILE_METHODS } from '../device/support';
import { CATALOGUE } from '../experiments/catalogue';
import { expectationFor } from '../experiments/expectations';
import { classifyWindow, currentSeq, describeFinding, readSince, readTaint, taintGained } from '../kmsg';
import { stuckTaskLines } from '../experiments/types';
import { describeStuck, snapshotStuck } from '../runner/stuck';
import { at } from '../util/at';
import { seriesOf } from '../vm/kernels';
import { meminfoKb } from './leak';
import { StressProcessResultSchema, type StressPair, type StressProcessResult, type StressWorkerConfig } from './stress-schema';
import { checkShape } from '../util/schema';

const WORKER = path.join(__dirname, 'stress-worker.js');
const PAGE = 4096;

export type StressMode = 'shared' | 'separate';

export interface StressOptions {
  mode: StressMode;
  durationMs: number;
  /** Default 8. */
  processes?: number;
  /** Threads of process i: minThreads + i % (maxThreads - minThreads + 1). Default 2 to 4. */
  minThreads?: number;
  maxThreads?: number;
  seed?: number;
  /** shared: bytes of the buffer each thread owns. Default 4 pages. */
  regionBytes?: number;
}

export interface StressResult {
  mode: StressMode;
  durationMs: number;
  /** Wall time from the first spawn to the last exit. */
  elapsedMs: number;
  /** From the first spawn until every thread of every process was up and waiting for `go`. */
  startupMs: number;
  /** The guest's memory over the start-up, to tell a start-up that thrashes from a slow one. */
  startupMemory: StartupMemory;
  processes: number;
  threads: number;
  seed: number;
  pairs: string[];
  ops: Record<string, number>;
  totalOps: number;
  configure: { ebusyHeld: number; ebusyFree: number; ok: number };
  failures: string[];
  /** Kernel complaints in the window of the run (describeFinding). */
  kmsg: string[];
  taintGained: string[];
}

/**
 * /proc/vmstat and /proc/meminfo around the start-up: major faults and
 * file refaults (pages read again soon after reclaim dropped them: the
 * node binary and modules come over 9p) and MemAvailable at each end.
 */
export interface StartupMemory {
  /** The parent (the process that spawns the others) at the start: VmRSS and VmPTE in KiB, its mappings. */
  parentRssKb: number;
  parentPteKb: number;
  parentMappings: number;
  majorFaults: number;
  fileRefaults: number;
  availableKbBefore: number;
  availableKbAfter: number;
}

interface MemorySample {
  majorFaults: number;
  fileRefaults: number;
  availableKb: number;
}

/** One vmstat counter; 0 when the kernel has none by that name. */
export function vmstatCounter(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function sampleMemory(): MemorySample {
  const vmstat = fs.readFileSync('/proc/vmstat', 'utf8');
  return {
    majorFaults: vmstatCounter(vmstat, 'pgmajfault'),
    // 5.9 split workingset_refault into _anon and _file; both Debian series have the split.
    fileRefaults: vmstatCounter(vmstat, 'workingset_refault_file'),
    availableKb: meminfoKb(fs.readFileSync('/proc/meminfo', 'utf8'), 'MemAvailable'),
  };
}

function startupMemoryOf(before: MemorySample, after: MemorySample, status: string, maps: string): StartupMemory {
  return {
    // /proc/self/status has meminfo's "Field:  N kB" lines.
    parentRssKb: meminfoKb(status, 'VmRSS'),
    parentPteKb: meminfoKb(status, 'VmPTE'),
    parentMappings: maps.split('\n').filter((l) => l.length > 0).length,
    majorFaults: after.majorFaults - before.majorFaults,
    fileRefaults: after.fileRefaults - before.fileRefaults,
    availableKbBefore: before.availableKb,
    availableKbAfter: after.availableKb,
  };
}

/** The pairs the stress may configure: working, safe, not file-backed, wb. */
export function stressPairs(release: string = os.release()): StressPair[] {
  const series = seriesOf(release);
  const seen = new Set<string>();
  const out: StressPair[] = [];
  for (const cell of CATALOGUE) {
    if (cell.profile !== 'default' || cell.hazard || cell.scenario !== 'basic' || cell.cache !== 'wb' || cell.reserved) continue;
    if ((FILE_METHODS as readonly string[]).includes(cell.method)) continue;
    if (expectationFor(cell, series)?.verdict !== 'ok') continue;
    const key = `${cell.alloc}/${cell.method}/${cell.faultAround}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ alloc: cell.alloc, method: cell.method, cache: 'wb', faultAround: cell.faultAround });
  }
  return out;
}

/** Shared mode reallocates one buffer of 2^n pages over and over: no high-order allocations there. */
const SHARED_ALLOCS = ['vmalloc', 'vmalloc_user', 'pages_array'];

/** A run's settings, the options' defaults filled in. */
interface StressPlan {
  mode: StressMode;
  durationMs: number;
  processes: number;
  maxThreads: number;
  seed: number;
  regionBytes: number;
  pairs: StressPair[];
  /** The shared buffer's size: a region per thread slot of every process. */
  size: number;
  threadsOf(i: number): number;
}

function planStress(options: StressOptions): StressPlan {
  const processes = options.processes ?? 8;
  const minThreads = options.minThreads ?? 2;
  const maxThreads = options.maxThreads ?? 4;
  const seed = (options.seed ?? Date.now()) >>> 0;
  const regionBytes = options.regionBytes ?? 4 * PAGE;
  let pairs = stressPairs();
  if (options.mode === 'shared') pairs = pairs.filter((p) => SHARED_ALLOCS.includes(p.alloc));
  if (pairs.length === 0) throw new Error('no pair to stress');
  return {
    mode: options.mode,
    durationMs: options.durationMs,
    processes,
    maxThreads,
    seed,
    regionBytes,
    pairs,
    size: processes * maxThreads * regionBytes,
    threadsOf: (i: number): number => minThreads + (i % (maxThreads - minThreads + 1)),
  };
}

/** Shared mode: the one session every process works on, configured with the first pair. */
function configureShared(shared: Device, plan: StressPlan): void {
  const p = at(plan.pairs, 0, 'the first stress pair');
  shared.configure({ alloc: p.alloc, method: p.method, size: plan.size, cache: p.cache, faultAround: p.faultAround });
}

/**
 * One process starts after another is ready, never all together: eight
 * node processes and their 23 isolates starting at once kept a guest CPU
 * from running for 20 to 50 s under TCG (soft lockups and RCU stalls in
 * the start-up of the mode that ran first, 2026-12-03; starting the first
 * alone still left one of 25 s). Nothing is measured before every
 * process is up and told to go, so the window is as concurrent as before.
 */
async function spawnInTurn(plan: StressPlan, sharedFd: number | undefined): Promise<StressChild[]> {
  const spawnOne = (i: number): StressChild =>
    spawnChild(
      {
        mode: plan.mode,
        process: i,
        threads: plan.threadsOf(i),
        slotThreads: plan.maxThreads,
        durationMs: plan.durationMs,
        seed: (plan.seed + i * 7919) >>> 0,
        pairs: plan.pairs,
        size: plan.size,
        regionBytes: plan.regionBytes,
      },
      sharedFd,
    );
  const children: StressChild[] = [];
  const startBy = Date.now() + STARTUP_LIMIT_MS;
  for (let i = 0; i < plan.processes; i++) {
    const child = spawnOne(i);
    children.push(child);
    if (!(await within(child.ready, Math.max(0, startBy - Date.now())))) break;
  }
  return children;
}

/** Whether every process is up within STARTUP_LIMIT_MS. */
async function everyReady(children: readonly StressChild[]): Promise<boolean> {
  return (await within(Promise.all(children.map((c) => c.ready)), STARTUP_LIMIT_MS)) && children.every((c) => c.isReady());
}

/** All up: every process told to go. Otherwise the late ones are killed and the rest abandoned. */
function goOrAbandon(children: readonly StressChild[], allReady: boolean): void {
  if (!allReady) {
    for (const c of children) {
      if (!c.isReady()) c.kill(`not ready ${STARTUP_LIMIT_MS / 1000} s after its spawn (${c.threadsReady()})`);
    }
  }
  for (const c of children) {
    if (allReady) c.go();
    else c.abandon();
  }
}

/** Every process's result, in order, or its failure; one still running RUN_GRACE_MS after the window is killed. */
async function collectResults(
  children: readonly StressChild[],
  durationMs: number,
  results: StressProcessResult[],
  failures: string[],
): Promise<void> {
  const runLimit = setTimeout(() => {
    for (const c of children) c.kill(`still running ${RUN_GRACE_MS / 1000} s after its ${durationMs / 1000} s window`);
  }, durationMs + RUN_GRACE_MS);
  try {
    for (const [i, c] of children.entries()) {
      try {
        const r = await c.result;
        if (r !== null) results.push(r);
      } catch (err) {
        failures.push(`process ${i}: ${(err as Error).message}`);
      }
    }
  } finally {
    clearTimeout(runLimit);
  }
}

/** The processes' op and CONFIGURE counts summed (in process order), their failures added to `failures`. */
function tallyResults(results: StressProcessResult[], failures: string[]): Pick<StressResult, 'ops' | 'configure'> {
  const ops: Record<string, number> = {};
  const configure = { ebusyHeld: 0, ebusyFree: 0, ok: 0 };
  for (const r of results.sort((a, b) => a.process - b.process)) {
    for (const [k, v] of Object.entries(r.ops)) ops[k] = (ops[k] ?? 0) + v;
    configure.ebusyHeld += r.configure.ebusyHeld;
    configure.ebusyFree += r.configure.ebusyFree;
    configure.ok += r.configure.ok;
    failures.push(...r.failures);
  }
  return { ops, configure };
}

export async function runStress(options: StressOptions): Promise<StressResult> {
  const plan = planStress(options);
  const seq0 = currentSeq();
  const taint0 = readTaint();
  let shared: Device | null = null;
  const failures: string[] = [];
  const results: StressProcessResult[] = [];
  const t0 = Date.now();
  const memory0 = sampleMemory();
  const parentStatus = fs.readFileSync('/proc/self/status', 'utf8');
  const parentMaps = fs.readFileSync('/proc/self/maps', 'utf8');
  let memoryReady = memory0;
  let readyMs = 0;
  try {
    if (options.mode === 'shared') {
      shared = Device.open();
      configureShared(shared, plan);
    }
    const children = await spawnInTurn(plan, shared?.fd);
    const allReady = await everyReady(children);
    readyMs = Date.now() - t0;
    memoryReady = sampleMemory();
    goOrAbandon(children, allReady);
    await collectResults(children, options.durationMs, results, failures);
    if (shared !== null) {
      const info = shared.info();
      if (info.mappings !== 0) failures.push(`the shared session still counts ${info.mappings} mapping(s) after every process ended`);
    }
  } finally {
    shared?.close();
  }
  const elapsedMs = Date.now() - t0;
  const startupMs = readyMs;
  const { ops, configure } = tallyResults(results, failures);
  const taint1 = readTaint(); // before the log: a report precedes its taint bit
  const window = readSince(seq0);
  return {
    mode: options.mode,
    durationMs: options.durationMs,
    elapsedMs,
    startupMs,
    startupMemory: startupMemoryOf(memory0, memoryReady, parentStatus, parentMaps),
    processes: plan.processes,
    threads: Array.from({ length: plan.processes }, (_, i) => plan.threadsOf(i)).reduce((a, b) => a + b, 0),
    seed: plan.seed,
    pairs: plan.pairs.map((p) => `${p.alloc}/${p.method}${p.faultAround ? '+fault-around' : ''}`),
    ops,
    totalOps: Object.values(ops).reduce((a, b) => a + b, 0),
    configure,
    failures,
    kmsg: classifyWindow(window.records).map(describeFinding),
    taintGained: taintGained(taint0, taint1),
  };
}

/**
 * Starting 8 Node processes and 23 worker isolates under TCG took 15 to 45 s
 * in the runs of 2026-12-02; nothing is measured before they are all
 * ready, so this limit only tells a start-up that hangs from a slow one.
 */
export const STARTUP_LIMIT_MS = 240_000;
/** After `go`, a process that is not done this long after its window is stuck. */
export const RUN_GRACE_MS = 60_000;

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), limit]);
  } finally {
    clearTimeout(timer);
  }
}

interface StressChild {
  /** Settles when the process printed `ready` (every thread up and waiting) or ended before it did. */
  ready: Promise<void>;
  isReady(): boolean;
  /** "2 of 4 threads were up" style, from what it printed so far. */
  threadsReady(): string;
  /** Its result; null when it was abandoned before `go`. Rejects when it crashed, was killed or printed no result. */
  result: Promise<StressProcessResult | null>;
  go(): void;
  abandon(): void;
  /** Looks at where its threads are (/proc), then SIGKILLs it; the reason and the look end up in the rejection. */
  kill(reason: string): void;
}

/** Spawns one stress process; see lib/harden/stress-worker.ts for the ready/go protocol. */
function spawnChild(cfg: StressWorkerConfig, sharedFd: number | undefined): StressChild {
  const stdio: ('pipe' | number)[] = ['pipe', 'pipe', 'pipe'];
  if (sharedFd !== undefined) stdio.push(sharedFd);
  const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio });
  let out = '';
  let err = '';
  let ready = false;
  let abandoned = false;
  let killedFor: string | null = null;
  let onReady: () => void = () => undefined;
  const readyP = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (!ready && /^ready$/m.test(out)) {
      ready = true;
      onReady();
    }
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // The child may be gone (killed, crashed) when go or abandon writes.
  child.stdin?.on('error', () => undefined);
  const result = new Promise<StressProcessResult | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      onReady();
      if (killedFor !== null) {
        reject(new Error(`${killedFor}: ${err.trim().slice(-2000)}`));
        return;
      }
      if (abandoned) {
        resolve(null);
        return;
      }
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || signal !== null) {
        reject(new Error(`exited ${signal ?? code}: ${err.trim().slice(-2000)}`));
        return;
      }
      let data: unknown;
      try {
        data = JSON.parse(line);
      } catch {
        reject(new Error(`no result line (stdout ${JSON.stringify(out.slice(-500))}, stderr ${JSON.stringify(err.slice(-500))})`));
        return;
      }
      try {
        resolve(checkShape(StressProcessResultSchema, data, `stress process ${cfg.process}'s result`, 'EMALFORMED'));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return {
    ready: readyP,
    isReady: () => ready,
    threadsReady: () => `${[...out.matchAll(/^up \d+$/gm)].length} of its ${cfg.threads} threads up`,
    result,
    go: () => child.stdin?.end('go\n'),
    abandon: () => {
      abandoned = true;
      child.stdin?.end();
    },
    kill: (reason: string) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const tasks = snapshotStuck(child.pid);
      killedFor = `${reason}: ${describeStuck(tasks)}${tasks.length ? `; ${stuckTaskLines(tasks).join('; ')}` : ''}`;
      child.kill('SIGKILL');
    },
  };
}

/** One line for logs. */
export function describeStress(r: StressResult): string {
  const ops = Object.entries(r.ops)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${r.mode}: ${r.processes} processes, ${r.threads} threads, ${(r.elapsedMs / 1000).toFixed(1)} s (start-up ${(r.startupMs / 1000).toFixed(1)} s, ${describeStartupMemory(r.startupMemory)}): ${r.totalOps} ops (${ops}); ` +
    `CONFIGURE EBUSY ${r.configure.ebusyHeld} held + ${r.configure.ebusyFree} elsewhere, ok ${r.configure.ok}; ` +
    `${r.failures.length} failure(s), ${r.kmsg.length} complaint(s), taint +${r.taintGained.join('') || 'none'}`
  );
}

function describeStartupMemory(m: StartupMemory): string {
  const mib = (kb: number): string => `${Math.round(kb / 1024)}`;
  return `parent RSS ${mib(m.parentRssKb)} MiB, page tables ${m.parentPteKb} KiB, ${m.parentMappings} mappings; ${m.majorFaults} major faults, ${m.fileRefaults} file refaults, MemAvailable ${mib(m.availableKbBefore)} -> ${mib(m.availableKbAfter)} MiB`;
}
