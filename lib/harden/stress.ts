/**
 * Concurrency stress of /dev/mmaplab (in the guest, module loaded with
 * hazards off): `processes` child processes (lib/harden/stress-worker.ts)
 * of 2 to 4 worker threads each loop over map / touch / pattern checks /
 * unmap / CONFIGURE / fork / dup+close for `durationMs`, either on one
 * session the parent opened and passes down as fd 3 ('shared') or on
 * sessions of their own ('separate'). Only pairs the catalogue expects to
 * work (no hazard, no file-backed technique, write-back cache).
 *
 * A failure is: an errno other than the expected ones (CONFIGURE: EBUSY or
 * success, and never success while the caller holds a mapping), data that
 * must be intact and is not, a worker that crashes or overruns, a kernel
 * complaint in the kmsg window of the run, or a new taint bit.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { Device } from '../device';
import { FILE_METHODS } from '../device/support';
import { CATALOGUE } from '../experiments/catalogue';
import { expectationFor } from '../experiments/expectations';
import { classifyWindow, currentSeq, describeFinding, readSince, readTaint, taintGained } from '../kmsg';
import { seriesOf } from '../vm/kernels';
import type { StressPair, StressProcessResult, StressWorkerConfig } from './stress-worker';

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
  /** From the first spawn until the last thread began its loop (Node and worker start-up). */
  startupMs: number;
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

/** The pairs the stress may configure: working, safe, not file-backed, wb. */
export function stressPairs(release: string = os.release()): StressPair[] {
  const series = seriesOf(release);
  const seen = new Set<string>();
  const out: StressPair[] = [];
  for (const cell of CATALOGUE) {
    if (cell.profile !== 'default' || cell.hazard || cell.scenario !== 'basic' || cell.cache !== 'wb') continue;
    if ((FILE_METHODS as readonly string[]).includes(cell.method)) continue;
    if (expectationFor(cell, series)?.verdict !== 'ok') continue;
    const key = `${cell.alloc}/${cell.method}/${cell.faultAround}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ allocator: cell.alloc, technique: cell.method, cache: 'wb', faultAround: cell.faultAround });
  }
  return out;
}

/** Shared mode reallocates one buffer of 2^n pages over and over: no high-order allocations there. */
const SHARED_ALLOCATORS = ['vmalloc', 'vmalloc_user', 'pages_array'];

export async function runStress(options: StressOptions): Promise<StressResult> {
  const processes = options.processes ?? 8;
  const minThreads = options.minThreads ?? 2;
  const maxThreads = options.maxThreads ?? 4;
  const seed = (options.seed ?? Date.now()) >>> 0;
  const regionBytes = options.regionBytes ?? 4 * PAGE;
  let pairs = stressPairs();
  if (options.mode === 'shared') pairs = pairs.filter((p) => SHARED_ALLOCATORS.includes(p.allocator));
  if (pairs.length === 0) throw new Error('no pair to stress');
  const threadsOf = (i: number): number => minThreads + (i % (maxThreads - minThreads + 1));
  const size = processes * maxThreads * regionBytes;

  const seq0 = currentSeq();
  const taint0 = readTaint();
  let shared: Device | null = null;
  const failures: string[] = [];
  const results: StressProcessResult[] = [];
  const t0 = Date.now();
  try {
    if (options.mode === 'shared') {
      shared = Device.open();
      const p = pairs[0] as StressPair;
      shared.configure({ allocator: p.allocator, technique: p.technique, size, cache: p.cache, faultAround: p.faultAround });
    }
    const sharedFd = shared?.fd;
    await Promise.all(
      Array.from({ length: processes }, (_, i) => {
        const cfg: StressWorkerConfig = {
          mode: options.mode,
          process: i,
          threads: threadsOf(i),
          slotThreads: maxThreads,
          durationMs: options.durationMs,
          seed: (seed + i * 7919) >>> 0,
          pairs,
          size,
          regionBytes,
        };
        return runChild(cfg, sharedFd).then(
          (r) => results.push(r),
          (err: Error) => failures.push(`process ${i}: ${err.message}`),
        );
      }),
    );
    if (shared !== null) {
      const info = shared.info();
      if (info.mappings !== 0) failures.push(`the shared session still counts ${info.mappings} mapping(s) after every process ended`);
    }
  } finally {
    shared?.close();
  }
  const elapsedMs = Date.now() - t0;
  const startupMs = Math.max(0, ...results.map((r) => r.startedAt - t0));

  const ops: Record<string, number> = {};
  const configure = { ebusyHeld: 0, ebusyFree: 0, ok: 0 };
  for (const r of results.sort((a, b) => a.process - b.process)) {
    for (const [k, v] of Object.entries(r.ops)) ops[k] = (ops[k] ?? 0) + v;
    configure.ebusyHeld += r.configure.ebusyHeld;
    configure.ebusyFree += r.configure.ebusyFree;
    configure.ok += r.configure.ok;
    failures.push(...r.failures);
  }
  const window = readSince(seq0);
  return {
    mode: options.mode,
    durationMs: options.durationMs,
    elapsedMs,
    startupMs,
    processes,
    threads: Array.from({ length: processes }, (_, i) => threadsOf(i)).reduce((a, b) => a + b, 0),
    seed,
    pairs: pairs.map((p) => `${p.allocator}/${p.technique}${p.faultAround ? '+fault-around' : ''}`),
    ops,
    totalOps: Object.values(ops).reduce((a, b) => a + b, 0),
    configure,
    failures,
    kmsg: classifyWindow(window.records).map(describeFinding),
    taintGained: taintGained(taint0, readTaint()),
  };
}

/** One stress process; rejects when it crashes, overruns or prints no result. */
function runChild(cfg: StressWorkerConfig, sharedFd: number | undefined): Promise<StressProcessResult> {
  return new Promise((resolve, reject) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
    if (sharedFd !== undefined) stdio.push(sharedFd);
    const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    // Node and its threads start slowly under emulation: a generous margin.
    const limit = cfg.durationMs + 60_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || signal !== null) {
        reject(new Error(`exited ${signal ?? code}${signal === 'SIGKILL' ? ` (over ${limit} ms?)` : ''}: ${err.trim().slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(line) as StressProcessResult);
      } catch {
        reject(new Error(`no result line (stdout ${JSON.stringify(out.slice(-500))}, stderr ${JSON.stringify(err.slice(-500))})`));
      }
    });
  });
}

/** One line for logs. */
export function describeStress(r: StressResult): string {
  const ops = Object.entries(r.ops)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${r.mode}: ${r.processes} processes, ${r.threads} threads, ${(r.elapsedMs / 1000).toFixed(1)} s (start-up ${(r.startupMs / 1000).toFixed(1)} s): ${r.totalOps} ops (${ops}); ` +
    `CONFIGURE EBUSY ${r.configure.ebusyHeld} held + ${r.configure.ebusyFree} elsewhere, ok ${r.configure.ok}; ` +
    `${r.failures.length} failure(s), ${r.kmsg.length} complaint(s), taint +${r.taintGained.join('') || 'none'}`
  );
}
