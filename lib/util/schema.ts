/**
 * JSON that comes from outside (a file, another process, the guest) is
 * checked against a valibot schema before anything uses it; the schema is
 * also where its TypeScript type comes from (v.InferOutput). A value that
 * does not fit is an MmaplabError naming the first bad place as a path,
 * what was expected and what is there:
 *
 *   report.json: cells[12].runs[0].evidence.observation.signal: expected string or null, got number 11
 *
 * `details.path` carries the same path for programs. The first problem
 * valibot finds is the one reported (not with abortEarly, which makes every
 * option of a union look wrong at its first problem, so a union could not
 * tell which option the value meant).
 *
 * checkShape returns the value it was given, not valibot's copy: a copy
 * leaves out the keys the schema does not name and puts the rest in the
 * schema's order, so a report read and written again would change. It
 * takes only schemas whose output type is their input type (no transform,
 * no default); parseShape returns valibot's output, for schemas that
 * normalise what they read.
 */
import * as v from 'valibot';
import { type ErrorCode, MmaplabError } from './errors';

type AnySchema = v.GenericSchema;
type AnyIssue = v.BaseIssue<unknown>;

/** S when it transforms nothing (its output type is its input type); never otherwise. */
type Checking<S extends AnySchema> = [v.InferInput<S>] extends [v.InferOutput<S>]
  ? [v.InferOutput<S>] extends [v.InferInput<S>]
    ? S
    : never
  : never;

/** The first place a value does not fit its schema. */
export interface SchemaProblem {
  /** 'cells[12].runs[0].verdict'; '' for the value itself. */
  path: string;
  /** 'string or null' */
  expected: string;
  /** 'number 11', 'nothing' (absent), 'object' */
  got: string;
  /** '<path>: expected <expected>, got <got>' (without the path when it is ''). */
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** 'cells[12].distribution["wrong-data kernel->user"]' */
export function formatPath(keys: readonly unknown[]): string {
  let out = '';
  for (const k of keys) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (typeof k === 'string' && IDENTIFIER.test(k)) out += out === '' ? k : `.${k}`;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out;
}

/** What a value is, for a message: its type, and the value itself when it is short. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    default:
      return typeof value;
  }
}

/** The alternatives in one of valibot's `expects` ('("a" | ("b" | null))' -> '"a"', '"b"', 'null'). */
function alternatives(expects: string): string[] {
  return expects.split(' | ').map((a) => a.replace(/^\(+/, '').replace(/\)+$/, ''));
}

const WORDS: Readonly<Record<string, string>> = { Object: 'object', Array: 'array', never: 'nothing' };
/** Alternatives listed in full up to this many; past it, the first ones and how many in all. */
const LISTED = 8;

/** valibot's `expects` in words: 'string or null', 'one of "a", "b", "c"'. */
export function describeExpects(expects: string): string {
  // An optional field's 'undefined' is its absence, which JSON has no word for.
  const alts = alternatives(expects)
    .filter((a) => a !== 'undefined')
    .map((a) => WORDS[a] ?? a);
  if (alts.length === 1) return alts[0] as string;
  if (alts.length === 2) return `${alts[0]} or ${alts[1]}`;
  const shown = alts.length > LISTED ? `${alts.slice(0, LISTED).join(', ')}, ... (${alts.length} in all)` : alts.join(', ');
  return `one of ${shown}`;
}

/** The schema of what sits at `path` below `schema`, when the path leads to one. */
function schemaAt(schema: AnySchema, path: readonly v.IssuePathItem[]): AnySchema | undefined {
  let at: AnySchema | undefined = schema;
  for (const item of path) {
    if (at === undefined) return undefined;
    at = childSchema(at, item);
  }
  return at;
}

/** The schema an object, array, record, wrapper or variant gives the value at `item`. */
function childSchema(schema: AnySchema, item: v.IssuePathItem): AnySchema | undefined {
  const s = schema as AnySchema & {
    wrapped?: AnySchema;
    entries?: Record<string, AnySchema>;
    item?: AnySchema;
    value?: AnySchema;
    key?: string;
    options?: AnySchema[];
  };
  if (s.wrapped !== undefined) return childSchema(s.wrapped, item);
  if (s.entries !== undefined) return s.entries[String(item.key)];
  if (s.type === 'array' && s.item !== undefined) return s.item;
  if (s.type === 'record' && s.value !== undefined) return s.value;
  if (s.type === 'variant' || s.type === 'union') {
    // The option the containing value belongs to (the first that has the key, for a union).
    const input = item.input as Record<string, unknown>;
    for (const o of s.options ?? []) {
      const entries = (o as { entries?: Record<string, AnySchema> }).entries;
      const fits =
        s.type === 'union' || (s.key !== undefined && entries?.[s.key] !== undefined && v.is(entries[s.key] as AnySchema, input[s.key]));
      const child = fits ? childSchema(o, item) : undefined;
      if (child !== undefined) return child;
    }
  }
  return undefined;
}

/**
 * A union's own issue says only "no option fitted". When one of its
 * options' issues goes deeper than every other, the value was meant for
 * that option and that issue says where it went wrong; when several tie
 * (every option wanted a key the value lacks), the union's own says best.
 * The options' issue paths start at the union, so they are joined on.
 */
function deepest(issue: AnyIssue): AnyIssue {
  const depth = (i: AnyIssue): number => i.path?.length ?? 0;
  const subs = (issue.issues ?? []).map((sub) => {
    const d = deepest(sub);
    return { ...d, path: [...(issue.path ?? []), ...(d.path ?? [])] } as AnyIssue;
  });
  const most = Math.max(depth(issue), ...subs.map(depth));
  const at = subs.filter((s) => depth(s) === most);
  return at.length === 1 && most > depth(issue) ? (at[0] as AnyIssue) : issue;
}

/** A strict object's key it does not name (the issue's input is the key; its value is in the path). */
function isUnknownKey(issue: AnyIssue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never';
}

/**
 * What was there instead: the value at the issue's path (for most issues
 * that is its input; a strict object's unknown key has the key as input,
 * a forwarded check the whole object), or what a raw check says it saw.
 */
function gotOf(issue: AnyIssue): string {
  if (issue.type === 'raw_check') return issue.received;
  const at = issue.path?.at(-1);
  return describeValue(at !== undefined ? at.value : issue.input);
}

/** What the schema wanted where `issue` is. */
function expectedOf(root: AnySchema, issue: AnyIssue): string {
  if (issue.kind === 'validation') {
    switch (issue.type) {
      case 'integer':
      case 'safe_integer':
        return 'an integer';
      case 'finite':
        return 'a finite number';
      case 'min_value':
        return `a number ≥ ${String(issue.requirement)}`;
      case 'max_value':
        return `a number ≤ ${String(issue.requirement)}`;
      case 'raw_check':
        // a raw check relating fields says what it wanted, and what it saw
        return issue.expected ?? issue.message;
      default:
        // check, regex...: their message says what they want (every schema here gives one)
        return issue.message;
    }
  }
  if (isUnknownKey(issue)) return 'no such field';
  // v.custom's message says what it wants (every one here gives one)
  if (issue.type === 'custom') return issue.message;
  const at = schemaAt(root, issue.path ?? []);
  // A schema given a message (v.union([...], 'a request number ...')) says in it what it wants.
  const message = (at as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  return describeExpects(at?.expects ?? issue.expected ?? 'a value');
}

/** The first place `value` does not fit `schema`, or null when it fits. */
export function schemaProblem(schema: AnySchema, value: unknown): SchemaProblem | null {
  const r = v.safeParse(schema, value);
  if (r.success) return null;
  const issue = deepest(r.issues[0]);
  const path = formatPath((issue.path ?? []).map((p) => p.key));
  const expected = expectedOf(schema, issue);
  const got = gotOf(issue);
  return { path, expected, got, message: `${path === '' ? '' : `${path}: `}expected ${expected}, got ${got}` };
}

function fail(problem: SchemaProblem, source: string, code: ErrorCode, details: Record<string, unknown>): never {
  throw new MmaplabError(code, `${source}: ${problem.message}`, { ...details, path: problem.path });
}

/**
 * `value` as the schema's type, or MmaplabError `code` saying
 * '<source>: <path>: expected ..., got ...'. Returns `value` itself.
 */
export function checkShape<S extends AnySchema>(
  schema: S & Checking<S>,
  value: unknown,
  source: string,
  code: ErrorCode,
  details: Record<string, unknown> = {},
): v.InferOutput<S> {
  const problem = schemaProblem(schema, value);
  if (problem !== null) fail(problem, source, code, details);
  return value;
}

/** As checkShape, for a schema that normalises: returns valibot's output. */
export function parseShape<S extends AnySchema>(
  schema: S,
  value: unknown,
  source: string,
  code: ErrorCode,
  details: Record<string, unknown> = {},
): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  const problem = schemaProblem(schema, value) as SchemaProblem;
  fail(problem, source, code, details);
}

/** JSON.parse of `text`, or MmaplabError `code` saying '<source> is not JSON: ...'. */
export function parseJson(text: string, source: string, code: ErrorCode, details: Record<string, unknown> = {}): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MmaplabError(code, `${source} is not JSON: ${(err as Error).message}`, { ...details, path: '' });
  }
}

/**
 * `text` as JSON of the schema, or what is wrong with it in words ('not
 * JSON', '<path>: expected ..., got ...'): for files a caller does without
 * when they are bad (a cache entry is rebuilt), saying why.
 */
export function jsonOf<S extends AnySchema>(schema: S & Checking<S>, text: string): { value: v.InferOutput<S> } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  const problem = schemaProblem(schema, data);
  return problem === null ? { value: data as v.InferOutput<S> } : { problem: problem.message };
}

/** A number that is an integer ≥ 0. */
export const count = v.pipe(v.number(), v.integer(), v.minValue(0));
/** A number that is an integer ≥ 1. */
export const positive = v.pipe(v.number(), v.integer(), v.minValue(1));
/** An integer that fits 32 bits unsigned. */
export const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff_ffff));
/** A string -> number map (counts by name). */
export const numbers = v.record(v.string(), v.number());
/** A string -> string map (module parameters, environment). */
export const strings = v.record(v.string(), v.string());

/**
 * A name from one of the catalogue's lists (allocators, methods,
 * scenarios...), which grow from version to version without a new report
 * version: typed as this version's names, checked as any string, so that a
 * report of a newer catalogue is read as it is (no rule predicts its cells).
 */
export function catalogueName<T extends string>(_names: readonly T[], what: string): v.GenericSchema<T> {
  return v.custom<T>((x) => typeof x === 'string', what);
}
