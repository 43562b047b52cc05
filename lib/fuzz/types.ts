/**
 * The fuzzer's data contract between the host (lib/cli/fuzz.ts), the guest
 * agent's 'fuzz' job (lib/runner/agent.ts) and the guest loop
 * (lib/fuzz/run.ts). Plain JSON.
 */
import type { FuzzJobOptions, FuzzResult, GuestMemory } from './schema';

/** The job options and the result travel as JSON: ./schema defines them. */
export type { FuzzComplaint, FuzzComplaintKind, FuzzJobOptions, FuzzResult, GuestMemory } from './schema';

export const MAX_KMSG_LINES = 200;

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
