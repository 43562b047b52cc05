/**
 * The fuzzer's data contract between the host (lib/cli/fuzz.ts), the guest
 * agent's 'fuzz' job (lib/runner/agent.ts) and the guest loop
 * (lib/fuzz/run.ts). Plain JSON.
 */
import type { FuzzOp } from './ops';

export interface FuzzJobOptions {
  /** The generator's seed (a label only when `replay` is given). */
  seed: number;
  /** Stop after this many operations (null: only `seconds` limits the run). */
  ops: number | null;
  /** Stop after this many seconds (null: only `ops` limits the run). */
  seconds: number | null;
  /** Read the kernel log and the taint every this many operations (and at the end). */
  checkEvery: number;
  /** Cycle the worker's CPU offline and online before each check, so pages freed twice are caught now. */
  drain: boolean;
  /** Run exactly these operations instead of the generated ones (minimisation replays). */
  replay: FuzzOp[] | null;
  /** No progress for this long (ms) is a hang: the worker is stuck in the kernel. */
  stallMs: number;
}

/** What made a run stop early. */
export type FuzzComplaintKind =
  /** The kernel log had a finding, or the kernel gained taint (O and E aside). */
  | 'kernel'
  /** The module accepted what it must refuse with allow_hazards=0 (a hazard configuration, FREE_WHILE_MAPPED). */
  | 'violation'
  /** The worker process died (a kernel oops kills the task in its system call). */
  | 'died'
  /** The worker stopped making progress (stuck in the kernel). */
  | 'hang';

export interface FuzzComplaint {
  kind: FuzzComplaintKind;
  /** Index of the last operation that ran before it was seen (-1: before the first). */
  atOp: number;
  /** First operation of the window it was seen in (the one after the previous clean check). */
  sinceOp: number;
  /** Seen at the end of the run (closing everything, the worker's exit), after the last operation. */
  atEnd: boolean;
  /** One line for people. */
  headline: string;
  /** Kinds of the kernel log findings (lib/kmsg), in order, for comparing replays. */
  kinds: string[];
  /** The findings, one line each (describeFinding). */
  findings: string[];
  /** The window's kernel log lines (at most MAX_KMSG_LINES). */
  kmsg: string[];
  /** Taint letters gained (O and E masked). */
  taintGained: string[];
}

export interface FuzzResult {
  seed: number;
  replay: boolean;
  /** Operations run (the one a complaint stopped at included). */
  opsRun: number;
  elapsedMs: number;
  /** Outcome ('ok', 'EINVAL', 'SIGBUS', 'skip', ...) -> how many operations had it. */
  counts: Record<string, number>;
  complaint: FuzzComplaint | null;
  /** Replays only: each operation's outcome, in order ('EINVAL: reason' when the module gave one). */
  outcomes: string[] | null;
  /** The fuzzer itself failed (not a kernel result). */
  error: string | null;
}

export const MAX_KMSG_LINES = 200;

/** A few /proc/meminfo figures (KiB), to watch a long run for leaks and memory pressure. */
export interface GuestMemory {
  availableKb: number;
  slabKb: number;
  vmallocKb: number;
  pageCacheKb: number;
}

/** Worker -> supervisor messages (IPC). */
export type WorkerMessage =
  | { type: 'progress'; done: number; elapsedMs: number; nextSeq: number; memory: GuestMemory }
  | { type: 'done'; result: FuzzResult; nextSeq: number };

/** Supervisor -> worker: what to run. */
export interface WorkerStart {
  type: 'start';
  options: FuzzJobOptions;
  devicePath: string;
  /** A file the worker maps to leave the index of the operation it is in. */
  progressPath: string;
}
