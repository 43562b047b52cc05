/**
 * Reading bench.json back: the writers and `mmaplab report` trust a
 * BenchReport's shape (a missing median would print NaN, a wrong technique
 * name would pair the wrong rows), so a file is checked before use. Every
 * error is MmaplabError 'EBENCHFORMAT' naming the first bad place as a
 * path ('kernels[1].mapCost[3].touchReadNs.median') with what was expected
 * and what was found; `details.path` carries the same path for programs.
 */
import * as fs from 'node:fs';
import { ALLOCATORS, METHODS } from '../experiments/types';
import { MmaplabError } from '../util/errors';
import {
  BENCH_SCHEMA_VERSION,
  RESTORE_FIGURES,
  type AddonOverheadRow,
  type BenchReport,
  type HarnessBench,
  type KernelBench,
  type MapCostRow,
  type RestoreBench,
  type Stat,
} from './types';

const SCHEMA = 'mmaplab-bench';
const BASELINES = ['anon', 'anon_populate'] as const;
const CACHES = ['wb', 'wc', 'uc'] as const;
const ACCELS = ['tcg', 'kvm', 'host'] as const;

type Obj = Record<string, unknown>;

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function fail(path: string, expected: string, got: unknown): never {
  throw new MmaplabError('EBENCHFORMAT', `bench report: ${path}: expected ${expected}, got ${shown(got)}`, { path });
}

function at(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

function object(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path || 'the document', 'an object', v);
  return v as Obj;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

interface NumRule {
  int?: boolean;
  min?: number;
}

function num(v: unknown, path: string, rule: NumRule = {}): number {
  const what = `${rule.int ? 'an integer' : 'a finite number'}${rule.min !== undefined ? ` ≥ ${rule.min}` : ''}`;
  const ok =
    typeof v === 'number' && Number.isFinite(v) && (!rule.int || Number.isInteger(v)) && (rule.min === undefined || v >= rule.min);
  if (!ok) fail(path, what, v);
  return v as number;
}

function optional(v: unknown, path: string, check: (v: unknown, path: string) => unknown): void {
  if (v !== undefined) check(v, path);
}

function nullable(v: unknown, path: string, check: (v: unknown, path: string) => unknown): void {
  if (v !== null) check(v, path);
}

function count(v: unknown, path: string): number {
  return num(v, path, { min: 0 });
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(path, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

function stat(v: unknown, path: string): Stat {
  const o = object(v, path);
  const median = num(o['median'], at(path, 'median'));
  const min = num(o['min'], at(path, 'min'));
  const max = num(o['max'], at(path, 'max'));
  num(o['n'], at(path, 'n'), { int: true, min: 1 });
  if (!(min <= median && median <= max)) fail(path, 'min ≤ median ≤ max', `${min}, ${median}, ${max}`);
  return o as unknown as Stat;
}

const ROW_STATS = ['mmapNs', 'touchReadNs', 'touchWriteNs', 'munmapNs', 'readBytesPerSec', 'writeBytesPerSec'] as const;
const ROW_COUNTS = ['faultsRead', 'faultsWrite', 'mapPagesCallsRead', 'minfltRead', 'minfltWrite'] as const;

function mapCostRow(v: unknown, path: string): MapCostRow {
  const o = object(v, path);
  const f = (key: string): [unknown, string] => [o[key], at(path, key)];
  // A baseline row has no allocator and names the baseline; a technique row has both.
  if (o['alloc'] === null) oneOf(...f('technique'), BASELINES);
  else {
    oneOf(...f('alloc'), ALLOCATORS);
    oneOf(...f('technique'), METHODS);
  }
  num(...f('size'), { int: true, min: 1 });
  num(...f('pages'), { int: true, min: 1 });
  oneOf(...f('cache'), CACHES);
  bool(...f('faultAround'));
  optional(...f('refused'), str);
  for (const k of ROW_STATS) optional(...f(k), stat);
  for (const k of ROW_COUNTS) optional(...f(k), count);
  return o as unknown as MapCostRow;
}

function addonRow(v: unknown, path: string): AddonOverheadRow {
  const o = object(v, path);
  oneOf(o['alloc'], at(path, 'alloc'), ALLOCATORS);
  oneOf(o['technique'], at(path, 'technique'), METHODS);
  num(o['size'], at(path, 'size'), { int: true, min: 1 });
  num(o['pages'], at(path, 'pages'), { int: true, min: 1 });
  stat(o['typescriptNs'], at(path, 'typescriptNs'));
  stat(o['cNs'], at(path, 'cNs'));
  return o as unknown as AddonOverheadRow;
}

function restore(v: unknown, path: string): RestoreBench {
  const o = object(v, path);
  for (const k of RESTORE_FIGURES) nullable(o[k], at(path, k), stat);
  str(o['hazardCell'], at(path, 'hazardCell'));
  array(o['failures'], at(path, 'failures')).forEach((f, i) => str(f, at(at(path, 'failures'), i)));
  return o as unknown as RestoreBench;
}

function harness(v: unknown, path: string): HarnessBench {
  const o = object(v, path);
  for (const k of ['agentReadyVmlinuxMs', 'agentReadyBzimageMs', 'firstCellMs', 'perCellMs']) stat(o[k], at(path, k));
  restore(o['restore'], at(path, 'restore'));
  return o as unknown as HarnessBench;
}

function kernel(v: unknown, path: string): KernelBench {
  const o = object(v, path);
  str(o['kernel'], at(path, 'kernel'));
  array(o['mapCost'], at(path, 'mapCost')).forEach((r, i) => mapCostRow(r, at(at(path, 'mapCost'), i)));
  array(o['addonOverhead'], at(path, 'addonOverhead')).forEach((r, i) => addonRow(r, at(at(path, 'addonOverhead'), i)));
  nullable(o['harness'], at(path, 'harness'), harness);
  return o as unknown as KernelBench;
}

/** Checks a parsed bench.json; returns it typed, or throws MmaplabError 'EBENCHFORMAT' naming the bad path. */
export function validateBenchReport(json: unknown): BenchReport {
  const o = object(json, '');
  if (o['schema'] !== SCHEMA) fail('schema', `"${SCHEMA}" (not an mmaplab bench report)`, o['schema']);
  if (o['version'] !== BENCH_SCHEMA_VERSION) {
    fail('version', `${BENCH_SCHEMA_VERSION} (the version this mmaplab reads)`, o['version']);
  }
  str(o['createdAt'], 'createdAt');
  const env = object(o['environment'], 'environment');
  oneOf(env['accel'], 'environment.accel', ACCELS);
  num(env['hostCpus'], 'environment.hostCpus', { int: true, min: 1 });
  str(env['hostModel'], 'environment.hostModel');
  nullable(env['guestCpus'], 'environment.guestCpus', count);
  nullable(env['guestMemoryMb'], 'environment.guestMemoryMb', count);
  const opts = object(o['options'], 'options');
  array(opts['sizes'], 'options.sizes').forEach((v, i) => num(v, `options.sizes[${i}]`, { int: true, min: 1 }));
  num(opts['reps'], 'options.reps', { int: true, min: 1 });
  bool(opts['cacheModes'], 'options.cacheModes');
  nullable(opts['cProgram'], 'options.cProgram', str);
  num(opts['bootRuns'], 'options.bootRuns', { int: true, min: 0 });
  num(opts['cellsPerVm'], 'options.cellsPerVm', { int: true, min: 0 });
  array(o['kernels'], 'kernels').forEach((k, i) => kernel(k, at('kernels', i)));
  nullable(o['matrixWallMs'], 'matrixWallMs', count);
  return o as unknown as BenchReport;
}

/** Reads and checks a bench.json: 'EBENCHREAD' when it cannot be read, 'EBENCHFORMAT' when it is not valid. */
export function readBenchReport(file: string): BenchReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MmaplabError('EBENCHREAD', `cannot read ${file}: ${(err as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MmaplabError('EBENCHFORMAT', `${file} is not JSON: ${(err as Error).message}`, { file, path: '' });
  }
  try {
    return validateBenchReport(json);
  } catch (err) {
    if (err instanceof MmaplabError) throw new MmaplabError(err.code, `${file}: ${err.message}`, { ...err.details, file });
    throw err;
  }
}
