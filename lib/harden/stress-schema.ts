/**
 * What a stress process (./stress-worker) is given on its command line and
 * prints as its result, as JSON: their schemas, from which the types come.
 * The worker loads this module in its main thread only (its worker threads
 * run the same file and read no JSON); ./stress reads the result line.
 */
import * as v from 'valibot';
import { ALLOCS, type AllocName, CACHES, type CacheName, METHODS, type MethodName } from '../device/layout';
import { checkShape, numbers, parseJson } from '../util/schema';

export const StressPairSchema = v.object({
  alloc: v.picklist(Object.keys(ALLOCS) as AllocName[]),
  method: v.picklist(Object.keys(METHODS) as MethodName[]),
  cache: v.picklist(Object.keys(CACHES) as CacheName[]),
  faultAround: v.boolean(),
});

export const StressWorkerConfigSchema = v.object({
  mode: v.picklist(['shared', 'separate']),
  /** Index of this process (0-based): slots are process * threads + thread. */
  process: v.number(),
  threads: v.number(),
  /** Threads per process in the run (the slot layout), may exceed `threads`. */
  slotThreads: v.number(),
  durationMs: v.number(),
  seed: v.number(),
  /** The pairs a CONFIGURE may use (shared: every one at `size`). */
  pairs: v.array(StressPairSchema),
  /** shared: the buffer size and each slot's share. */
  size: v.number(),
  regionBytes: v.number(),
});

const countsEntries = {
  ops: numbers,
  /** CONFIGURE outcomes (shared mode). */
  configure: v.object({ ebusyHeld: v.number(), ebusyFree: v.number(), ok: v.number() }),
  failures: v.array(v.string()),
  /** Date.now() when the last thread of the process began its loop (after `go`). */
  startedAt: v.number(),
};

export const StressCountsSchema = v.object(countsEntries);

export const StressProcessResultSchema = v.object({
  ...countsEntries,
  process: v.number(),
  threads: v.number(),
});

export type StressPair = v.InferOutput<typeof StressPairSchema>;
export type StressWorkerConfig = v.InferOutput<typeof StressWorkerConfigSchema>;
export type StressCounts = v.InferOutput<typeof StressCountsSchema>;
export type StressProcessResult = v.InferOutput<typeof StressProcessResultSchema>;

/** The worker's command-line argument, checked: EMALFORMED naming the place. */
export function parseStressConfig(text: string): StressWorkerConfig {
  const where = "the stress process's configuration";
  return checkShape(StressWorkerConfigSchema, parseJson(text, where, 'EMALFORMED'), where, 'EMALFORMED');
}
