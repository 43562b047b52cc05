/**
 * The guest's event stream (events.jsonl, ./job) as the host reads it:
 * every event is checked against its schema, from which the GuestEvent type
 * is inferred. A line that is not JSON is one a dying VM cut short and is
 * left out, as everything before it still counts; a line that is JSON but
 * not an event is an error naming the line and the place in it.
 */
import * as v from 'valibot';
import { GuestBenchSchema } from '../bench/schema';
import { CheckItemSchema, CheckResultSchema } from '../check/schema';
import { TriggerResultSchema } from '../experiments/files-schema';
import { CellResultSchema } from '../experiments/schema';
import { FuzzResultSchema, GuestMemorySchema } from '../fuzz/schema';
import type { ErrorCode } from '../util/errors';
import { checkShape } from '../util/schema';

export const GuestTestSchema = v.object({
  title: v.string(),
  fullTitle: v.string(),
  state: v.picklist(['passed', 'failed', 'pending']),
  durationMs: v.number(),
  /** The guest test file's name ("45-file-triggers.test.js"). */
  file: v.optional(v.string()),
  error: v.optional(v.string()),
});

export const GuestEventSchema = v.variant('type', [
  v.object({ type: v.literal('ready'), uptime: v.number(), node: v.string(), release: v.string() }),
  v.object({ type: v.literal('cell-start'), id: v.string() }),
  v.object({ type: v.literal('cell-result'), result: CellResultSchema }),
  v.object({ type: v.literal('fuzz-progress'), done: v.number(), elapsedMs: v.number(), memory: GuestMemorySchema }),
  v.object({ type: v.literal('fuzz-result'), result: FuzzResultSchema }),
  v.object({ type: v.literal('kernel-damaged'), id: v.string(), why: v.string() }),
  v.object({ type: v.literal('test'), test: GuestTestSchema }),
  v.object({ type: v.literal('file-result'), result: TriggerResultSchema }),
  v.object({ type: v.literal('bench-result'), result: GuestBenchSchema }),
  v.object({ type: v.literal('check-start'), scenario: CheckItemSchema }),
  v.object({ type: v.literal('check-nodes'), nodes: v.array(v.string()) }),
  v.object({ type: v.literal('check-result'), result: CheckResultSchema }),
  v.object({ type: v.literal('log'), message: v.string() }),
  v.object({ type: v.literal('error'), message: v.string() }),
  v.object({ type: v.literal('done'), status: v.number() }),
]);

export type GuestTest = v.InferOutput<typeof GuestTestSchema>;
export type GuestEvent = v.InferOutput<typeof GuestEventSchema>;

/**
 * One line of the stream: its event, or null for a line that is not JSON
 * (cut short). `where` names the line in an error ('FILE line 12').
 */
export function parseEventLine(line: string, where: string, code: ErrorCode = 'EGUEST'): GuestEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  return checkShape(GuestEventSchema, data, where, code);
}

/**
 * Every event in `text` (lines of `source`, the first of them line
 * `firstLine`), blank and cut-short lines left out; MmaplabError `code`
 * for a line that is JSON but not an event.
 */
export function parseEvents(text: string, source = 'events', code: ErrorCode = 'EGUEST', firstLine = 1): GuestEvent[] {
  const out: GuestEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const e = parseEventLine(line, `${source} line ${firstLine + i}`, code);
    if (e !== null) out.push(e);
  });
  return out;
}
