/**
 * The host <-> guest protocol. The host writes job.json and guest.sh into the
 * run directory (shared with the guest over 9p); the guest agent appends one
 * JSON event per line to events.jsonl and prints progress marks on the
 * console, which the host timestamps.
 */
import type { GuestBench, GuestBenchOptions } from '../bench/types';
import type { CellResult, CellSpec } from '../experiments/types';
import type { CheckItem, CheckJobOptions, CheckResult } from '../check/types';
import type { TriggerResult } from '../experiments/file-triggers';
import type { FuzzJobOptions, FuzzResult, GuestMemory } from '../fuzz/types';

export interface ModuleLoad {
  /** Host path of mmaplab.ko built for this kernel (visible in the guest). */
  path: string;
  /** Module parameters, e.g. { allow_hazards: '1' }. */
  params: Record<string, string>;
}

export type Job =
  | { kind: 'cells'; kernel: string; module: ModuleLoad; cells: CellSpec[] }
  | {
      kind: 'suite';
      kernel: string;
      module: ModuleLoad;
      files: string[];
      /** Set in the guest's environment before the suite runs: paths the host prepared for it. */
      env?: Record<string, string>;
    }
  /** The file-backed techniques under every trigger (lib/experiments/file-triggers). */
  | { kind: 'files'; kernel: string; module: ModuleLoad }
  /** `mmaplab fuzz`: random or replayed operations on the device (lib/fuzz), allow_hazards=0. */
  | { kind: 'fuzz'; kernel: string; module: ModuleLoad; fuzz: FuzzJobOptions }
  /** The guest part of `mmaplab bench` (lib/bench/measure.ts). */
  | { kind: 'bench'; kernel: string; module: ModuleLoad; options: GuestBenchOptions }
  /** `mmaplab check`: the user's module (not mmaplab's) and its device node under the check scenarios. */
  | { kind: 'check'; kernel: string; module: ModuleLoad; check: CheckJobOptions }
  | { kind: 'idle'; kernel: string };

export interface GuestTest {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  /** The guest test file's name ("45-file-triggers.test.js"). */
  file?: string;
  error?: string;
}

export type GuestEvent =
  | { type: 'ready'; uptime: number; node: string; release: string }
  | { type: 'cell-start'; id: string }
  | { type: 'cell-result'; result: CellResult }
  | { type: 'fuzz-progress'; done: number; elapsedMs: number; memory: GuestMemory }
  | { type: 'fuzz-result'; result: FuzzResult }
  | { type: 'kernel-damaged'; id: string; why: string }
  | { type: 'test'; test: GuestTest }
  | { type: 'file-result'; result: TriggerResult }
  | { type: 'bench-result'; result: GuestBench }
  | { type: 'check-start'; scenario: CheckItem }
  | { type: 'check-nodes'; nodes: string[] }
  | { type: 'check-result'; result: CheckResult }
  | { type: 'log'; message: string }
  | { type: 'error'; message: string }
  | { type: 'done'; status: number };

export const MARK_AGENT_READY = 'MMAPLAB-AGENT-READY';
export const MARK_CELL_DONE = 'MMAPLAB-CELL-DONE';
export const MARK_AGENT_DONE = 'MMAPLAB-AGENT-DONE';
/** Printed by a fuzz job after every clean check: the host's idle deadline starts again. */
export const MARK_FUZZ_BATCH = 'MMAPLAB-FUZZ-BATCH';

/**
 * The agent rewrites this file in the run directory every HEARTBEAT_MS from
 * its event loop while it runs a job: as long as it changes, the agent can
 * still report, whatever the console shows.
 */
export const HEARTBEAT_FILE = 'heartbeat';
export const HEARTBEAT_MS = 250;

export const JOB_FILE = 'job.json';
export const EVENTS_FILE = 'events.jsonl';
export const GUEST_SCRIPT = 'guest.sh';

export function parseEvents(text: string): GuestEvent[] {
  const out: GuestEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as GuestEvent);
    } catch {
      // A line cut short by a dying VM: everything before it still counts.
    }
  }
  return out;
}
