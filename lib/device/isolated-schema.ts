/**
 * What runIsolated (./isolated) and its child (./isolated-child) pass each
 * other as JSON: the plan, on the child's command line, and the child's
 * lines on stdout. Their schemas, from which IsolatedPlan and IsolatedStep
 * come; ./isolated loads this module only when it runs a plan, so the
 * device API does not load valibot for its other calls.
 */
import * as v from 'valibot';
import type { ConfigureOptions } from './device';
import { checkShape, parseJson } from '../util/schema';

const ProtectionSchema = v.picklist(['none', 'r', 'rw']);

/** One step of a plan, run in order on the plan's single mapping. */
export const IsolatedStepSchema = v.variant('op', [
  v.object({ op: v.literal('touch'), mode: v.picklist(['read', 'write']) }),
  v.object({ op: v.literal('write-pattern'), seed: v.number() }),
  v.object({ op: v.literal('check-pattern'), seed: v.number() }),
  v.object({ op: v.literal('protect'), prot: ProtectionSchema }),
  v.object({ op: v.literal('advise-dontneed') }),
  /** munmap without detaching: the next access hits unmapped memory. */
  v.object({ op: v.literal('unmap-raw') }),
  /** The FREE_WHILE_MAPPED hazard (the device only). */
  v.object({ op: v.literal('free-while-mapped') }),
  v.object({ op: v.literal('fill'), seed: v.number() }),
  v.object({ op: v.literal('verify'), seed: v.number() }),
]);

export const IsolatedPlanSchema = v.object({
  /** The device, or any file (e.g. one shorter than the mapping, for SIGBUS). */
  path: v.string(),
  /**
   * CONFIGURE first (the device only). Device.configure checks the options,
   * as it does every caller's: here only that they are an object.
   */
  configure: v.optional(
    v.custom<ConfigureOptions>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), 'configure options (an object)'),
  ),
  /** The mapping every step works on. */
  map: v.object({
    length: v.number(),
    offset: v.optional(v.number()),
    private: v.optional(v.boolean()),
    prot: v.optional(ProtectionSchema),
  }),
  steps: v.array(IsolatedStepSchema),
});

/**
 * A line the child prints: a finished step's result (absent when the step
 * returns nothing), or the exception that ended it.
 */
export const ChildLineSchema = v.union(
  [
    v.strictObject({ result: v.optional(v.unknown()) }),
    v.object({ error: v.object({ code: v.nullable(v.string()), message: v.string() }) }),
  ],
  '{"result": ...} or {"error": {"code": ..., "message": ...}}',
);

export type IsolatedStep = v.InferOutput<typeof IsolatedStepSchema>;
export type IsolatedPlan = v.InferOutput<typeof IsolatedPlanSchema>;
export type ChildLine = v.InferOutput<typeof ChildLineSchema>;

/** The plan the child was given (bigints revived), checked: EMALFORMED naming the place. */
export function checkPlanArgument(plan: unknown): IsolatedPlan {
  return checkShape(IsolatedPlanSchema, plan, 'the isolated plan', 'EMALFORMED');
}

/** One of the child's stdout lines (`n` counts from 1), checked: EMALFORMED naming the place. */
export function parseChildLine(line: string, n: number): ChildLine {
  const where = `the isolated child's line ${n}`;
  return checkShape(ChildLineSchema, parseJson(line, where, 'EMALFORMED'), where, 'EMALFORMED');
}
