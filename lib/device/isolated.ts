/**
 * Outcomes that kill a process, observed from outside it.
 *
 * SIGBUS past the end of a file, a write to a PROT_READ mapping, a touch
 * after a raw munmap, an access after FREE_WHILE_MAPPED: each would take the
 * test runner down with it. runIsolated() runs such a plan in a child node
 * process and reports how it ended: the signal (or exit code), the step it
 * was in, and the last page that step reached. The child records its
 * progress in a small MAP_SHARED file mapping, so the page survives its
 * death; each finished step's result comes back on stdout as a JSON line.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { invalidArgType, invalidArgValue } from './errors';
import { readProgressFile, resetProgressFile } from './progress';

/** The plan and the child's lines travel as JSON: ./isolated-schema defines them. */
export type { IsolatedPlan, IsolatedStep } from './isolated-schema';
import type { IsolatedPlan, IsolatedStep } from './isolated-schema';

export const ISOLATED_OPS: readonly IsolatedStep['op'][] = [
  'touch',
  'write-pattern',
  'check-pattern',
  'protect',
  'advise-dontneed',
  'unmap-raw',
  'free-while-mapped',
  'fill',
  'verify',
];

/** What happened to the child. */
export interface IsolatedResult {
  /** Steps that finished, in order, with what each returned (JSON). */
  readonly results: unknown[];
  /** How the child ended. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Index of the step it died or threw in (null when all finished, or before step 0). */
  readonly failedStep: number | null;
  /** The page the dying step was accessing (null when not a page loop, or no death). */
  readonly page: number | null;
  /** A JavaScript exception in the child (an mmap refusal, say), with its code. */
  readonly error: { readonly code: string | null; readonly message: string } | null;
  /** Child stderr, for the report when something unexpected happened. */
  readonly stderr: string;
}

export interface IsolatedOptions {
  /** Kill the child (SIGKILL) after this long. Default 60 s. */
  timeoutMs?: number;
}

const CHILD = path.join(__dirname, 'isolated-child.js');

/** Runs `plan` in a child process; never rejects for what happens inside the child. */
export async function runIsolated(plan: IsolatedPlan, options: IsolatedOptions = {}): Promise<IsolatedResult> {
  checkPlan(plan);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-isolated-'));
  const progressPath = path.join(dir, 'progress');
  resetProgressFile(progressPath);
  try {
    const run = await spawnChild(
      JSON.stringify(plan, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
      progressPath,
      options.timeoutMs ?? 60_000,
    );
    const { step, page } = readProgressFile(progressPath);
    const results: unknown[] = [];
    let error: IsolatedResult['error'] = null;
    // Loaded here: the rest of the device API has no JSON to read.
    const { parseChildLine } = await import('./isolated-schema');
    for (const [i, line] of run.stdout.split('\n').entries()) {
      if (line === '') continue;
      const msg = parseChildLine(line, i + 1);
      if ('error' in msg) error = msg.error;
      else results.push(msg.result ?? null);
    }
    const died = run.signal !== null || (run.exitCode !== 0 && error === null);
    return {
      results,
      exitCode: run.exitCode,
      signal: run.signal,
      failedStep: (died || error !== null) && step >= 0 ? step : null,
      page: died && page >= 0 ? page : null,
      error,
      stderr: run.stderr,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function checkPlan(plan: IsolatedPlan): void {
  if (typeof plan !== 'object' || plan === null) throw invalidArgType('plan', 'an object', plan);
  if (typeof plan.path !== 'string') throw invalidArgType('plan.path', 'of type string', plan.path);
  if (typeof plan.map !== 'object' || plan.map === null) throw invalidArgType('plan.map', 'an object', plan.map);
  if (!Array.isArray(plan.steps)) throw invalidArgType('plan.steps', 'an array', plan.steps);
  for (const [i, s] of plan.steps.entries()) {
    if (typeof s !== 'object' || s === null || !ISOLATED_OPS.includes(s.op)) {
      throw invalidArgValue(`plan.steps[${i}].op`, `one of ${ISOLATED_OPS.join(', ')}`, (s as { op?: unknown } | null)?.op);
    }
  }
}

interface ChildRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function spawnChild(plan: string, progressPath: string, timeoutMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    // No core dumps: a child killed by SIGSEGV is an expected outcome.
    const child = spawn(process.execPath, [CHILD, plan, progressPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}
