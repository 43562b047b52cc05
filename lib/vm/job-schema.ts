/**
 * job.json, what the host gives the guest agent (./job), as a schema: the
 * Job type is inferred from it, and the agent checks the file against it
 * before it runs anything.
 */
import * as fs from 'node:fs';
import * as v from 'valibot';
import { GuestBenchOptionsSchema } from '../bench/schema';
import { CheckJobOptionsSchema } from '../check/schema';
import { CellSpecSchema } from '../experiments/schema';
import { FuzzJobOptionsSchema } from '../fuzz/schema';
import { checkShape, parseJson, strings } from '../util/schema';

export const ModuleLoadSchema = v.object({
  /** Host path of mmaplab.ko built for this kernel (visible in the guest). */
  path: v.string(),
  /** Module parameters, e.g. { allow_hazards: '1' }. */
  params: strings,
});

// (not `module`: a top-level const of that name clashes with CommonJS's own)
const kernel = v.string();
const mod = { module: ModuleLoadSchema };

export const JobSchema = v.variant('kind', [
  v.object({ kind: v.literal('cells'), kernel, ...mod, cells: v.array(CellSpecSchema) }),
  v.object({
    kind: v.literal('suite'),
    kernel,
    ...mod,
    files: v.array(v.string()),
    /** Set in the guest's environment before the suite runs: paths the host prepared for it. */
    env: v.optional(strings),
  }),
  /** The file-backed methods under every trigger (lib/experiments/file-triggers). */
  v.object({ kind: v.literal('files'), kernel, ...mod }),
  /** `mmaplab fuzz`: random or replayed operations on the device (lib/fuzz), allow_hazards=0. */
  v.object({ kind: v.literal('fuzz'), kernel, ...mod, fuzz: FuzzJobOptionsSchema }),
  /** The guest part of `mmaplab bench` (lib/bench/measure.ts). */
  v.object({ kind: v.literal('bench'), kernel, ...mod, options: GuestBenchOptionsSchema }),
  /** `mmaplab check`: the user's module (not mmaplab's) and its device node under the check scenarios. */
  v.object({ kind: v.literal('check'), kernel, ...mod, check: CheckJobOptionsSchema }),
  v.object({ kind: v.literal('idle'), kernel }),
]);

export type ModuleLoad = v.InferOutput<typeof ModuleLoadSchema>;
export type Job = v.InferOutput<typeof JobSchema>;

/** job.json read and checked: EGUEST naming the first bad place when it is not a job. */
export function readJob(file: string): Job {
  return checkShape(JobSchema, parseJson(fs.readFileSync(file, 'utf8'), file, 'EGUEST'), file, 'EGUEST');
}
