/**
 * Where a probe that missed its deadline is, read from /proc before it is
 * killed: so a report can tell "stuck in the kernel at X" from "still running
 * in userspace" (slow emulation, or a loop of mmaplab's own). Every field is
 * best effort: /proc/PID/stack needs root and CONFIG_STACKTRACE, and a task
 * can exit while it is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StuckTask } from '../experiments/types';

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The state letter of a /proc/PID/stat line ("R", "S", "D"...): the field after the ")" of comm. */
export function stateOfStat(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  return /^\s*(\S)/.exec(stat.slice(close + 1))?.[1] ?? null;
}

/** "[<0>] folio_wait_bit_common+0x13a/0x310" -> "folio_wait_bit_common+0x13a/0x310". */
export function stackFrames(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/^\[<[0-9a-fx]+>\]\s*/, '').trim())
    .filter((l) => l.length > 0);
}

function task(dir: string, tid: number): StuckTask | null {
  const stat = read(path.join(dir, 'stat'));
  if (stat === null) return null;
  const wchan = read(path.join(dir, 'wchan'))?.trim() ?? '';
  const stack = read(path.join(dir, 'stack'));
  return {
    tid,
    comm: read(path.join(dir, 'comm'))?.trim() ?? '',
    state: stateOfStat(stat) ?? '?',
    wchan: wchan === '' || wchan === '0' ? null : wchan,
    syscall: read(path.join(dir, 'syscall'))?.trim() ?? null,
    stack: stack === null ? null : stackFrames(stack),
  };
}

/**
 * Every thread of process `pid`: the main thread first, then the others in a
 * state that is not plain sleeping (a worker stuck in an ioctl shows as D).
 */
export function snapshotStuck(pid: number, procRoot = '/proc'): StuckTask[] {
  const base = path.join(procRoot, String(pid), 'task');
  let tids: number[];
  try {
    tids = fs
      .readdirSync(base)
      .map(Number)
      .filter(Number.isInteger)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
  const out: StuckTask[] = [];
  for (const tid of tids) {
    const t = task(path.join(base, String(tid)), tid);
    if (t === null) continue;
    if (tid === pid || t.state !== 'S') out.push(t);
  }
  return out;
}

/** One line: "stuck in the kernel at folio_wait_bit_common (state D, main thread)" or "running in userspace". */
export function describeStuck(tasks: readonly StuckTask[]): string {
  const inKernel = tasks.find((t) => t.state === 'D') ?? tasks.find((t) => t.wchan !== null && t.state !== 'R');
  const who = (t: StuckTask): string => (t === tasks[0] ? 'main thread' : `thread ${t.comm || t.tid}`);
  if (inKernel) {
    const where = inKernel.wchan ?? inKernel.stack?.[0]?.replace(/\+0x.*$/, '') ?? 'an unknown place';
    return `stuck in the kernel at ${where} (state ${inKernel.state}, ${who(inKernel)})`;
  }
  const main = tasks[0];
  if (main === undefined) return 'gone before it could be looked at';
  if (main.state === 'R') return `still running (state R, ${who(main)}): slow emulation or a loop, not a kernel wait`;
  return `waiting (state ${main.state}${main.wchan ? ` at ${main.wchan}` : ''}, ${who(main)})`;
}
